# bash completion for famfs, mkfs.famfs, famfs-fused and mount.famfs.
#
# Subcommands and options are read from the programs' own --help output (and
# cached for the shell's lifetime), so completion never disagrees with the
# installed version. Arguments complete as files, directories or devices.

# The option names of `famfs [SUBCMD] --help` (CLI11 layout: "  -s,--size SIZE").
_famfs_help_options()
{
    local cmd=$1 key=_famfs_opts_${2:-top}
    key=${key//[^a-zA-Z0-9_]/_}
    if [[ -z ${!key-} ]]; then
        local opts
        opts=$("$cmd" ${2:+"$2"} --help 2>/dev/null |
            sed -n 's/^  \(-[^ ]*\).*/\1/p' | tr ',' '\n' | grep -- '^-')
        printf -v "$key" '%s' "${opts//$'\n'/ }"
    fi
    printf '%s' "${!key}"
}

_famfs_subcommands()
{
    if [[ -z ${_famfs_subcmds-} ]]; then
        _famfs_subcmds=$("$1" --help 2>/dev/null |
            sed -n '/^Subcommands:/,/^$/s/^  \([a-z][a-z, ]*[a-z]\)  .*/\1/p' | tr -d ',')
        _famfs_subcmds=${_famfs_subcmds//$'\n'/ }
    fi
    printf '%s' "$_famfs_subcmds"
}

_famfs()
{
    local cur prev words cword
    _init_completion || return

    local i sub='' globals_with_arg='--device --system-uuid-file'
    for ((i = 1; i < cword; i++)); do
        case ${words[i]} in
        --device | --system-uuid-file) ((i++)) ;;
        -*) ;;
        *) sub=${words[i]}; break ;;
        esac
    done
    if [[ ${words[0]##*/} == mkfs.famfs ]]; then
        sub=mkfs
    fi

    case $prev in
    --device) _filedir; COMPREPLY+=($(compgen -W "$(ls -d /dev/dax* 2>/dev/null)" -- "$cur")); return ;;
    --system-uuid-file | --list | -f | --file) _filedir; return ;;
    -u | --uid) COMPREPLY=($(compgen -u -- "$cur")); return ;;
    -g | --gid) COMPREPLY=($(compgen -g -- "$cur")); return ;;
    -s | --size | -S | --seed | -m | --mode | -N | -B | -C | --nstrips | --nbuckets | --chunksize | \
        --log-len | -l | --loglen | --emulate | -o) return ;;
    esac

    if [[ -z $sub ]]; then
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W "$(_famfs_help_options "${words[0]}")" -- "$cur"))
        else
            COMPREPLY=($(compgen -W "$(_famfs_subcommands "${words[0]}")" -- "$cur"))
        fi
        return
    fi
    if [[ $cur == -* ]]; then
        local cmd=${words[0]}
        [[ ${cmd##*/} == mkfs.famfs ]] && cmd=famfs
        COMPREPLY=($(compgen -W "$(_famfs_help_options "$cmd" "$sub")" -- "$cur"))
        return
    fi
    case $sub in
    mkfs | log | logplay | fsck)
        _filedir
        COMPREPLY+=($(compgen -W "$(ls -d /dev/dax* 2>/dev/null)" -- "$cur"))
        ;;
    mount)
        _filedir
        COMPREPLY+=($(compgen -W "$(ls -d /dev/dax* 2>/dev/null)" -- "$cur"))
        ;;
    umount)
        COMPREPLY=($(compgen -W "$(awk '$3 == "fuse.famfs" {print $2}' /proc/mounts)" -- "$cur"))
        ;;
    run)
        # famfs run [--] CMD ARGS: complete the command, then its arguments.
        _command_offset $((i + 1))
        ;;
    *) _filedir ;;
    esac
}

# famfs-fused DEVICE MOUNTPOINT [-o opt,...] and mount.famfs (mount(8) style).
_famfs_fused()
{
    local cur prev words cword
    _init_completion || return
    if [[ $prev == -o ]]; then
        local known
        known=$("${words[0]}" --help 2>/dev/null |
            sed -n 's/^  -o \([a-z_]*=\{0,1\}\).*/\1/p' | sort -u)
        local prefix=${cur%,*} last=${cur##*,}
        [[ $cur == *,* ]] && prefix+="," || prefix=""
        COMPREPLY=($(compgen -P "$prefix" -W "$known" -- "$last"))
        compopt -o nospace
        return
    fi
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "-f -d -s -o --help --version" -- "$cur"))
        return
    fi
    _filedir
    COMPREPLY+=($(compgen -W "$(ls -d /dev/dax* 2>/dev/null)" -- "$cur"))
}

complete -F _famfs famfs mkfs.famfs
complete -F _famfs_fused famfs-fused mount.famfs
