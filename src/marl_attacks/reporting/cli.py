"""Summary, figures, tables, claims and the marl-eval JSON of a run, by hand.

``python -m marl_attacks report <subcommand> ...`` (or ``python -m marl_attacks.reporting ...``)
runs one of the workflow's report jobs on files you name; the workflow's jobs call the same
functions. For example::

    python -m marl_attacks report summary --eval a.csv b.csv --out s.csv
    python -m marl_attacks report figure --kind ablation_selection --summary s.csv --stem figures/x/ablation_selection
    python -m marl_attacks report claims --eval a.csv b.csv --eps 0.2 --stem tables/x/claims
    python -m marl_attacks report deviations --config c.yaml --main a.csv --flipped noise=n.csv --stem t/x/deviations

With ``--config`` (summary, main-drop, victims, claims), the job's parameters come from that
config through the same builders the workflow uses (:mod:`marl_attacks.config`), e.g.
``python -m marl_attacks report claims --config config/config.yaml --eval ... --stem ...``;
otherwise from the options (bootstrap seed 0, as the default config's ``seed``).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import pandas as pd

from .claims import table_claims
from .deviations import table_deviations
from .export import export_marl_eval
from .figures import FIGURES, draw_figure
from .summary import load_eval, run_ablation_summary, run_summary
from .tables import table_access_assumptions, table_attack_cost, table_main_drop, table_victims

SEED = 0  # the bootstrap seed of the command line (config key ``seed`` in the workflow)


def _bootstrap(a: argparse.Namespace) -> dict:
    return {"bootstrap_samples": a.reps, "ci": a.ci, "seed": SEED}


def _params(a: argparse.Namespace, builder: str, from_options: Callable[[], dict]) -> dict:
    """The job's parameters: built from ``--config`` as the workflow builds them, else from the options."""
    if a.config:
        from .. import config as cfgmod

        return getattr(cfgmod, builder)(cfgmod.load(a.config))
    if getattr(a, "eps", 0) is None:
        raise SystemExit(f"report {a.what}: give --eps or --config")
    return from_options()


def cmd_summary(a: argparse.Namespace) -> None:
    params = _params(a, "summary_params", lambda: _bootstrap(a))
    (run_ablation_summary if a.ablation else run_summary)(a.eval, a.out, params)


def cmd_figure(a: argparse.Namespace) -> None:
    draw_figure(a.kind, a.summary, a.stem, a.victims)


def _eps_rule(a: argparse.Namespace) -> dict:
    return {"eps_rule": {"attack": a.rule_attack, "min_drop": a.min_drop}, "eps": a.eps}


def cmd_main_drop(a: argparse.Namespace) -> None:
    table_main_drop(pd.read_csv(a.summary), a.stem, _params(a, "main_drop_params", lambda: _eps_rule(a)))


def cmd_victims(a: argparse.Namespace) -> None:
    thresholds = {k: float(v) for k, v in (x.split("=", 1) for x in a.threshold)}
    table_victims(a.scores, a.stem, _params(a, "victims_table_params", lambda: {"thresholds": thresholds}))


def cmd_attack_cost(a: argparse.Namespace) -> None:
    table_attack_cost(a.cost, a.stem)


def cmd_access(a: argparse.Namespace) -> None:
    table_access_assumptions(a.stem)


def cmd_claims(a: argparse.Namespace) -> None:
    victims = pd.read_csv(a.victims) if a.victims else None
    params = _params(a, "claims_params", lambda: {**_bootstrap(a), **_eps_rule(a)})
    summary = pd.read_csv(a.summary) if a.summary else None
    table_claims(load_eval(a.eval), victims, a.stem, a.by_eps, params, summary)


def cmd_deviations(a: argparse.Namespace) -> None:
    from .. import config as cfgmod

    params = cfgmod.deviations_table_params(cfgmod.load(a.config))
    flipped = {}
    for item in a.flipped:
        choice, path = item.split("=", 1)
        flipped.setdefault(choice, []).append(path)
    table_deviations(a.main, flipped, a.stem, params)


def cmd_marl_eval(a: argparse.Namespace) -> None:
    export_marl_eval(a.eval, a.out)


#: subcommand -> what runs it
HANDLERS: dict[str, Callable[[argparse.Namespace], None]] = {
    "summary": cmd_summary,
    "figure": cmd_figure,
    "main-drop": cmd_main_drop,
    "victims": cmd_victims,
    "attack-cost": cmd_attack_cost,
    "access": cmd_access,
    "claims": cmd_claims,
    "deviations": cmd_deviations,
    "marl-eval": cmd_marl_eval,
}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="what", required=True)
    s = sub.add_parser("summary", help="summary.csv from evaluation rows (or one ablation's rows)")
    s.add_argument("--eval", nargs="+", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--reps", type=int, default=2000)
    s.add_argument("--ci", type=float, default=0.95)
    s.add_argument("--ablation", action="store_true", help="the rows are an ablation's (one row per value)")
    f = sub.add_parser("figure")
    f.add_argument(
        "--summary",
        required=True,
        help="summary.csv (an ablation's for ablation_samples, ablation_pgd_steps, ablation_n_attacked, "
        "ablation_victim_memory)",
    )
    f.add_argument("--kind", default="return_vs_eps", choices=list(FIGURES))
    f.add_argument("--stem", required=True, help="output path without extension")
    f.add_argument("--victims", default=None, help="tables/{run}/victims.csv: mark panels whose victims fail")
    t = sub.add_parser("main-drop")
    t.add_argument("--summary", required=True)
    t.add_argument("--eps", type=float, default=None, help="eps of the fixed-eps table (report.drop_eps)")
    t.add_argument("--stem", required=True)
    v = sub.add_parser("victims")
    v.add_argument("--scores", nargs="+", required=True)
    v.add_argument("--stem", required=True)
    v.add_argument(
        "--threshold",
        action="append",
        default=[],
        metavar="ENV=RETURN",
        help="competence threshold of an env (repeatable)",
    )
    c = sub.add_parser("attack-cost")
    c.add_argument("--cost", nargs="+", required=True, help="the evaluation's *.cost.csv files")
    c.add_argument("--stem", required=True)
    acc = sub.add_parser("access", help="the access-assumptions table (static)")
    acc.add_argument("--stem", required=True)
    cl = sub.add_parser("claims", help="the paper's claims on the evaluation rows")
    cl.add_argument("--eval", nargs="+", required=True)
    cl.add_argument("--eps", type=float, default=None, help="eps of the fixed-eps table (report.drop_eps)")
    cl.add_argument("--summary", default=None, help="summary.csv the eps rule reads (default: from the rows)")
    cl.add_argument("--reps", type=int, default=2000)
    cl.add_argument("--ci", type=float, default=0.95)
    cl.add_argument("--stem", required=True)
    cl.add_argument("--by-eps", default=None, help="also write every eps to this CSV")
    cl.add_argument("--victims", default=None, help="tables/{run}/victims.csv: also pool over competent victims only")
    dv = sub.add_parser("deviations", help="the claims under each protocol choice's two values")
    dv.add_argument("--main", nargs="+", required=True, help="the main evaluation's rows of deviations.victims")
    dv.add_argument("--flipped", action="append", default=[], metavar="CHOICE=PATH", help="a flipped evaluation's rows")
    dv.add_argument("--stem", required=True)
    dv.add_argument("--config", required=True, help="the run's config (protocol, eps rule, bootstrap)")
    me = sub.add_parser("marl-eval", help="evaluation rows as marl-eval's JSON")
    me.add_argument("--eval", nargs="+", required=True)
    me.add_argument("--out", required=True)
    for name in ("summary", "main-drop", "victims", "claims"):
        sub.choices[name].add_argument("--config", default=None, help="take the job's parameters from this config")
    for name in ("main-drop", "claims"):  # report.eps_rule: each env's eps
        sub.choices[name].add_argument("--rule-attack", default="white-box-pgd", help="report.eps_rule.attack")
        sub.choices[name].add_argument("--min-drop", type=float, default=0.2, help="report.eps_rule.min_drop")
    assert set(sub.choices) == set(HANDLERS), "every subcommand has a handler"
    return p


def main(argv: list[str] | None = None) -> None:
    a = parser().parse_args(argv)
    HANDLERS[a.what](a)


if __name__ == "__main__":
    main()
