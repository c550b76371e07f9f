"""Static shell completions generated from the app's command tree: every subcommand and option is
known without starting aigw; only model ids are asked of `aigw models` while completing `-m`.

Regenerate the files in completions/ with `python scripts/gen_completions.py`; a test fails when
they no longer match the app.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Node:
    path: tuple[str, ...]
    help: str
    flags: list[tuple[list[str], str]] = field(default_factory=list)  # (names, help) taking no value
    valued: list[tuple[list[str], str]] = field(default_factory=list)  # (names, help) taking a value
    children: dict[str, Node] = field(default_factory=dict)
    takes_file: bool = False


def _first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0].replace("'", "").replace('"', "") if text and text.strip() else ""


def tree(command: Any, path: tuple[str, ...] = ()) -> Node:
    node = Node(path, _first_line(getattr(command, "help", "")))
    node.flags.append((["--help", "-h"], "Show help and exit."))
    for param in command.params:
        names = [n for n in [*param.opts, *param.secondary_opts] if n.startswith("-")]
        if names and not getattr(param, "hidden", False):
            target = node.flags if getattr(param, "is_flag", False) or param.count else node.valued
            target.append((names, _first_line(getattr(param, "help", ""))))
        elif not names and param.name == "file":
            node.takes_file = True
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        node.children[name] = tree(sub, (*path, name))
    return node


def walk(node: Node) -> list[Node]:
    out = [node]
    for child in node.children.values():
        out.extend(walk(child))
    return out


def _words(node: Node) -> str:
    return " ".join([*node.children, *(n for names, _ in node.flags + node.valued for n in names)])


def bash(root: Node, prog: str = "aigw") -> str:
    cases: list[str] = []
    valued: set[str] = set()
    for node in walk(root):
        key = " ".join(node.path)
        cases.append(f'        "{key}") words="{_words(node)}" ;;')
        valued.update(n for names, _ in node.valued for n in names)
    subs = []
    for node in walk(root):
        if node.children:
            key = " ".join(node.path)
            subs.append(f'            "{key}") case "$w" in {"|".join(node.children)}) path="${{path:+$path }}$w" ;; esac ;;')
    return f"""# bash completion for {prog}, generated from the app by scripts/gen_completions.py
_{prog}() {{
    local cur="${{COMP_WORDS[COMP_CWORD]}}" prev="${{COMP_WORDS[COMP_CWORD-1]}}" path="" words="" i w skip=0
    for ((i = 1; i < COMP_CWORD; i++)); do
        w="${{COMP_WORDS[i]}}"
        if ((skip)); then skip=0; continue; fi
        case "$w" in
            {"|".join(sorted(valued))}) skip=1; continue ;;
            -*) continue ;;
        esac
        case "$path" in
{chr(10).join(subs)}
        esac
    done
    case "$prev" in
        -m|--model|--fallback) COMPREPLY=($(compgen -W "$({prog} models 2>/dev/null)" -- "$cur")); return ;;
        -o|--output|--file) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    esac
    case "$path" in
{chr(10).join(cases)}
    esac
    if [[ "$cur" != -* && "$path" == "transcribe" ]]; then
        COMPREPLY=($(compgen -f -- "$cur"))
    else
        COMPREPLY=($(compgen -W "$words" -- "$cur"))
    fi
}}
complete -o default -F _{prog} {prog}
"""


def zsh(root: Node, prog: str = "aigw") -> str:
    return f"""#compdef {prog}
# zsh completion for {prog}, generated from the app by scripts/gen_completions.py: zsh runs the
# same completion function as bash through bashcompinit.
autoload -U +X bashcompinit && bashcompinit
{bash(root, prog).split(chr(10), 1)[1]}"""


def fish(root: Node, prog: str = "aigw") -> str:
    lines = [f"# fish completion for {prog}, generated from the app by scripts/gen_completions.py",
             f"complete -c {prog} -f"]
    for node in walk(root):
        if node.path:
            parent = node.path[:-1]
            cond = _fish_condition(parent, root)
            lines.append(f"complete -c {prog} -n '{cond}' -a {node.path[-1]} -d '{node.help}'")
        cond = _fish_condition(node.path, root)
        for names, help_text in node.flags + node.valued:
            parts = []
            for n in names:
                parts.append(f"-l {n[2:]}" if n.startswith("--") else f"-s {n[1:]}")
            value = " -r" if (names, help_text) in node.valued else ""
            lines.append(f"complete -c {prog} -n '{cond}' {' '.join(parts)}{value} -d '{help_text}'")
        if node.takes_file:
            lines.append(f"complete -c {prog} -n '{cond}' -F")
    lines.append(f"complete -c {prog} -n '__fish_seen_argument -s m -l model -l fallback' -x -a '({prog} models 2>/dev/null)'")
    return "\n".join(lines) + "\n"


def _fish_condition(path: tuple[str, ...], root: Node) -> str:
    if not path:
        return "__fish_use_subcommand"
    checks = [f"__fish_seen_subcommand_from {word}" for word in path]
    children = _node(root, path).children
    if children:
        checks.append(f"not __fish_seen_subcommand_from {' '.join(children)}")
    return "; and ".join(checks)


def _node(root: Node, path: tuple[str, ...]) -> Node:
    node = root
    for word in path:
        node = node.children[word]
    return node


def render_all() -> dict[str, str]:
    import typer

    from aigw.cli.main import app

    root = tree(typer.main.get_command(app))
    return {"aigw.bash": bash(root), "_aigw": zsh(root), "aigw.fish": fish(root)}
