#!/usr/bin/env python3
"""Generate the manual pages from the programs' own --help text.

The `famfs COMMAND --help` output is already laid out as a manual page
(NAME, SYNOPSIS, DESCRIPTION, CLI11's option list, EXAMPLES, EXIT STATUS);
this script only turns that text into roff, so the pages can never say
something else than --help. It writes into OUTDIR/man8:

  famfs.8              from `famfs --help` (global options, subcommand list)
  famfs-COMMAND.8      from `famfs COMMAND --help`, one per subcommand
                       (an alias such as logplay gets a .so page)
  famfs-fused.8        from `famfs-fused --help`
  mkfs.famfs.8, mount.famfs.8   .so pages of famfs-mkfs.8 and famfs-fused.8

usage: help2roff.py --famfs BIN --daemon BIN --version V --changelog FILE OUTDIR
"""
import argparse
import email.utils
import os
import re
import subprocess
import sys
import time

SECTION = "8"
MANUAL = "System Administration"


def run_help(argv):
    env = dict(os.environ, COLUMNS="80", LC_ALL="C.UTF-8")
    p = subprocess.run(argv + ["--help"], capture_output=True, text=True, env=env)
    text = p.stdout or p.stderr
    if not text.strip():
        sys.exit(f"help2roff: {' '.join(argv)} --help printed nothing")
    return text.rstrip("\n").split("\n")


def esc(text):
    """Escape text for roff: backslashes, and a leading . or ' (control lines)."""
    text = text.replace("\\", "\\e")
    if text.startswith((".", "'")):
        text = "\\&" + text
    return text


def opt_esc(text):
    """Option names: minus signs are \\- so they copy and search as ASCII '-'."""
    return esc(text).replace("-", "\\-")


def page_date(changelog):
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch is None and changelog:
        with open(changelog, encoding="utf-8") as f:
            for line in f:
                m = re.match(r"^ -- .*>  (.*)$", line)
                if m:
                    epoch = str(int(email.utils.parsedate_to_datetime(m.group(1)).timestamp()))
                    break
    t = time.gmtime(int(epoch)) if epoch is not None else time.gmtime()
    return time.strftime("%Y-%m-%d", t)


def header(name, version, date):
    return [f'.TH "{name.upper()}" "{SECTION}" "{date}" "famfs-fused {version}" "{MANUAL}"']


def option_block(lines):
    """CLI11 / daemon option lines -> [(names, description)].

    An option line starts with two spaces and a '-' (or a positional name);
    its names end at the first run of two or more spaces. A line indented
    further, with an empty names column, continues the description."""
    items = []
    for line in lines:
        if not line.strip():
            continue
        m = re.match(r"^  (\S.*?)(?:\s{2,}(.*))?$", line)
        if m and not line.startswith("   "):
            items.append([m.group(1).strip(), (m.group(2) or "").strip()])
        elif items:
            items[-1][1] = (items[-1][1] + " " + line.strip()).strip()
    return items


def render_options(items):
    out = []
    for names, desc in items:
        # "-s,--size SIZE" -> \fB\-s\fR, \fB\-\-size\fR \fISIZE\fR
        parts = []
        for word in re.split(r"(\s+)", names):
            if not word or word.isspace():
                parts.append(word)
            elif word.startswith("-"):
                flags = [f"\\fB{opt_esc(w)}\\fR" for w in word.split(",") if w]
                parts.append(", ".join(flags))
            elif word.startswith("(") or word.endswith(")"):
                parts.append(esc(word))
            else:
                parts.append(f"\\fI{esc(word)}\\fR")
        out += [".TP", "".join(parts), esc(desc) if desc else ""]
    return out


def render_prose(lines):
    """Paragraphs of 4-space indented text; deeper indentation stays verbatim."""
    out, para, verbatim = [], [], []

    def flush():
        nonlocal para, verbatim
        if para:
            out.extend([".PP", esc(" ".join(para))])
        if verbatim:
            out.extend([".PP", ".RS 4", ".nf"] + [esc(v) for v in verbatim] + [".fi", ".RE"])
        para, verbatim = [], []

    for line in lines:
        if not line.strip():
            flush()
            continue
        body = line[4:] if line.startswith("    ") else line.lstrip()
        if body.startswith(" ") or verbatim:
            if para:
                out.extend([".PP", esc(" ".join(para))])
                para = []
            verbatim.append(body)
        else:
            para.append(body.strip())
    flush()
    return out


def render_verbatim(lines):
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    body = [esc(l[4:] if l.startswith("    ") else l.strip()) for l in lines]
    return [".nf", ".RS 4"] + body + [".RE", ".fi"]


def command_page(cmd, lines, version, date, aliases):
    """A `famfs COMMAND --help` page: caps headings at column 0, CLI11 blocks."""
    sections, current = [], None
    for line in lines:
        heading = re.match(r"^([A-Z][A-Z ]+)$", line) or re.match(r"^(Positionals|Options):$", line)
        if heading:
            current = [heading.group(1), []]
            sections.append(current)
        elif current is not None:
            current[1].append(line)
    out = header(f"famfs-{cmd}", version, date)
    for title, body in sections:
        if title == "NAME":
            text = " ".join(l.strip() for l in body if l.strip())
            m = re.match(r"^famfs \S+ - (.*)$", text)
            summary = m.group(1) if m else text
            names = ", ".join(["famfs-" + cmd] + ["famfs-" + a for a in aliases])
            out += [".SH NAME", f"{opt_esc(names)} \\- {esc(summary)}"]
        elif title == "SYNOPSIS":
            out += [".SH SYNOPSIS"] + render_verbatim(body)
        elif title in ("EXAMPLES", "EXIT STATUS", "FILES", "ENVIRONMENT"):
            out += [f".SH {title}"] + render_verbatim(body)
        elif title == "Positionals":
            out += [".SH ARGUMENTS"] + render_options(option_block(body))
        elif title == "Options":
            out += [".SH OPTIONS"] + render_options(option_block(body))
        else:
            out += [f".SH {esc(title)}"] + render_prose(body)
    out += [".SH SEE ALSO", "\\fBfamfs\\fR(8), \\fBfamfs-fused\\fR(8)"]
    return out


def top_page(lines, version, date, commands):
    """`famfs --help`: CLI11's default layout plus a footer of prose."""
    summary = lines[0].split(":", 1)[1].strip() if ":" in lines[0] else lines[0]
    out = header("famfs", version, date)
    out += [".SH NAME", f"famfs \\- {esc(summary)}"]
    out += [".SH SYNOPSIS", ".nf", ".RS 4", "famfs [\\fIOPTIONS\\fR] \\fICOMMAND\\fR [\\fIARGS\\fR...]",
            ".RE", ".fi"]
    block, name, footer = [], None, []
    blocks = {}
    for line in lines[1:]:
        m = re.match(r"^(Options|Subcommands):$", line)
        if m:
            name = m.group(1)
            blocks[name] = []
        elif line.startswith("Usage:"):
            continue
        elif name and (line.startswith(" ") or not line.strip()):
            blocks[name].append(line)
        else:
            name = None
            footer.append("    " + line if line.strip() else "")
    out += [".SH DESCRIPTION"] + render_prose(footer)
    out += [".SH OPTIONS"] + render_options(option_block(blocks.get("Options", [])))
    out += [".SH COMMANDS"]
    for names, desc in option_block(blocks.get("Subcommands", [])):
        first = names.split(",")[0].strip()
        out += [".TP", f"\\fBfamfs\\-{opt_esc(first)}\\fR(8)", esc(desc)]
    see = ", ".join(f"\\fBfamfs\\-{opt_esc(c)}\\fR(8)" for c in commands)
    out += [".SH SEE ALSO", see + ", \\fBfamfs\\-fused\\fR(8), \\fBmount.famfs\\fR(8)"]
    return out


def daemon_page(lines, version, date):
    """`famfs-fused --help`: a usage line, prose, then '  -x  text' options."""
    out = header("famfs-fused", version, date)
    out += [".SH NAME",
            "famfs\\-fused, mount.famfs \\- the famfs FUSE daemon and its mount(8) helper"]
    usage = [l for l in lines if l.lower().startswith("usage:")]
    out += [".SH SYNOPSIS", ".nf", ".RS 4"]
    for u in usage:
        out.append(opt_esc(u.split(":", 1)[1].strip()))
    out += ["mount \\-t famfs [\\-o \\fIoptions\\fR] \\fIDEVICE\\fR \\fIMOUNTPOINT\\fR", ".RE", ".fi"]
    prose, opts = [], []
    for line in lines:
        if line.lower().startswith("usage:"):
            continue
        if re.match(r"^\s+-", line) or (opts and re.match(r"^\s{6,}\S", line)):
            opts.append(line)
        elif not opts:
            prose.append("    " + line if line.strip() else "")
        else:
            prose.append("    " + line if line.strip() else "")
    out += [".SH DESCRIPTION"] + render_prose(prose)
    out += [".PP",
            "\\fBmount.famfs\\fR is the same program: \\fBmount\\fR(8) runs it for "
            "\\fB\\-t famfs\\fR and for fstab lines whose type is famfs, with the "
            "options below as \\fB\\-o\\fR options."]
    out += [".SH OPTIONS"] + render_options(option_block(opts))
    out += [".SH SEE ALSO",
            "\\fBfamfs\\fR(8), \\fBmount\\fR(8), \\fBfstab\\fR(5), \\fBsystemd.mount\\fR(5)"]
    return out


def write(outdir, name, lines):
    path = os.path.join(outdir, f"{name}.{SECTION}")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(l for l in lines if l is not None) + "\n")


def main():
    ap = argparse.ArgumentParser(description="generate manual pages from --help")
    ap.add_argument("--famfs", required=True)
    ap.add_argument("--daemon", required=True)
    ap.add_argument("--version", required=True)
    ap.add_argument("--changelog")
    ap.add_argument("outdir")
    a = ap.parse_args()
    outdir = os.path.join(a.outdir, "man" + SECTION)
    os.makedirs(outdir, exist_ok=True)
    date = page_date(a.changelog)

    top = run_help([a.famfs])
    sub_block, commands, aliases = False, [], {}
    for line in top:
        if line == "Subcommands:":
            sub_block = True
            continue
        if sub_block:
            m = re.match(r"^  (\S[^ ]*(?:, \S+)*)\s{2,}", line)
            if not m:
                if line.strip() and not line.startswith(" "):
                    sub_block = False
                continue
            names = [n.strip() for n in m.group(1).split(",")]
            commands.append(names[0])
            aliases[names[0]] = names[1:]
    if not commands:
        sys.exit("help2roff: no subcommands found in famfs --help")
    write(outdir, "famfs", top_page(top, a.version, date, commands))
    for cmd in commands:
        write(outdir, f"famfs-{cmd}",
              command_page(cmd, run_help([a.famfs, cmd]), a.version, date, aliases[cmd]))
        for alias in aliases[cmd]:
            write(outdir, f"famfs-{alias}", [f".so man{SECTION}/famfs-{cmd}.{SECTION}"])
    write(outdir, "famfs-fused", daemon_page(run_help([a.daemon]), a.version, date))
    write(outdir, "mount.famfs", [f".so man{SECTION}/famfs-fused.{SECTION}"])
    if "mkfs" in commands:
        write(outdir, "mkfs.famfs", [f".so man{SECTION}/famfs-mkfs.{SECTION}"])


if __name__ == "__main__":
    main()
