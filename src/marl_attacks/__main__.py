"""Command line: ``python -m marl_attacks <command> [options]`` (also installed as ``marl-attacks``).

Each command is one stage module's own command line, so ``python -m marl_attacks
fit --help`` and ``python -m marl_attacks.stages.fit --help`` are the same thing.
"""

from __future__ import annotations

import importlib
import sys

#: command -> (module, what it does)
COMMANDS = {
    "train": ("stages.train", "train a victim (one env x algorithm x seed)"),
    "collect": ("stages.collect", "record benign joint observations of a victim"),
    "fit": ("stages.fit", "fit the alignment model f_theta on recorded samples"),
    "score": ("stages.score", "score a victim against a uniform-random policy"),
    "evaluate": ("stages.evaluate", "evaluate a victim under every configured attack"),
    "ablations": ("stages.ablations", "evaluate a victim for one ablation (samples, pgd_steps, n_attacked)"),
    "report": ("reporting.cli", "summary, figures, tables, claims and marl-eval JSON from evaluation rows"),
    "attack": ("team.cli", "attack your own team on a PettingZoo or VMAS env"),
    "victims": ("victims", "export trained victims to a model zoo"),
}


def usage() -> str:
    lines = ["usage: python -m marl_attacks <command> [options]", "", "commands:"]
    lines += [f"  {name:<9} {text}" for name, (_, text) in COMMANDS.items()]
    lines += ["", "python -m marl_attacks <command> --help shows a command's options."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return
    if argv[0] not in COMMANDS:
        print(f"unknown command '{argv[0]}'\n\n{usage()}", file=sys.stderr)
        raise SystemExit(2)
    module = importlib.import_module(f"marl_attacks.{COMMANDS[argv[0]][0]}")
    prog, sys.argv[0] = sys.argv[0], f"python -m marl_attacks {argv[0]}"  # what argparse shows
    try:
        module.main(argv[1:])
    finally:
        sys.argv[0] = prog


if __name__ == "__main__":
    main()
