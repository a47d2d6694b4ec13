"""Where every intermediate and output of a run lives: one function per kind of file.

The rules call these with their wildcards left as placeholders (the defaults,
``"{env}"`` etc.), the package with values, so a path is spelled in one place.
Layout: ``results/{run}/<stage>/{env}/{algo}/seed{seed}/...`` for the per-victim
intermediates, ``figures/{run}/`` and ``tables/{run}/`` for what the report draws.
"""

from __future__ import annotations

ENV, ALGO, SEED = "{env}", "{algo}", "{seed}"


def victim(env=ENV, algo=ALGO, seed=SEED) -> str:
    """The part of a path that names one victim."""
    return f"{env}/{algo}/seed{seed}"


def victims_root(run) -> str:
    """Where a run trains its own victims (a zoo folder replaces it: config key ``zoo``)."""
    return f"results/{run}/victims"


def policy(root, env=ENV, algo=ALGO, seed=SEED) -> str:
    """A victim's policy under ``root``: :func:`victims_root`, or a zoo folder."""
    return f"{root}/{victim(env, algo, seed)}/policy.pt"


def curve(root, env=ENV, algo=ALGO, seed=SEED) -> str:
    """A victim's training curve, beside its policy."""
    return f"{root}/{victim(env, algo, seed)}/curve.csv"


def score(run, env=ENV, algo=ALGO, seed=SEED) -> str:
    return f"results/{run}/victims/{victim(env, algo, seed)}/score.json"


def samples(run, env=ENV, algo=ALGO, seed=SEED) -> str:
    return f"results/{run}/samples/{victim(env, algo, seed)}/samples.pt"


def align_key(arch: str, n_samples=None) -> str:
    """Name of an f_theta: its architecture, or ``<arch>_n<n>`` when fitted on ``n`` samples for the
    samples ablation (the file stem, and the key of the models an ablation job is given)."""
    return arch if n_samples is None else f"{arch}_n{n_samples}"


def align_model(run, arch="{arch}", n_samples=None, env=ENV, algo=ALGO, seed=SEED) -> str:
    return f"results/{run}/align/{victim(env, algo, seed)}/{align_key(arch, n_samples)}.pt"


ALIGN_INPUT = "align_"  # prefix of a job's f_theta inputs (Snakemake input names must not clash)


def align_inputs(models: dict[str, str]) -> dict[str, str]:
    """f_theta files keyed by :func:`align_key`, as a rule's named inputs."""
    return {ALIGN_INPUT + key: path for key, path in models.items()}


def align_from_inputs(inputs) -> dict[str, str]:
    """The f_theta files among a job's named inputs, keyed by :func:`align_key` again."""
    return {k[len(ALIGN_INPUT) :]: v for k, v in dict(inputs).items() if k.startswith(ALIGN_INPUT)}


def eval_rows(run, env=ENV, algo=ALGO, seed=SEED) -> str:
    return f"results/{run}/eval/{victim(env, algo, seed)}.csv"


def eval_cost(run, env=ENV, algo=ALGO, seed=SEED) -> str:
    return f"results/{run}/eval/{victim(env, algo, seed)}.cost.csv"


def ablation_rows(run, ablation="{ablation}", env=ENV, algo=ALGO, seed=SEED) -> str:
    return f"results/{run}/ablations/{ablation}/{victim(env, algo, seed)}.csv"


CHOICE = "{choice}"  # a protocol choice (marl_attacks.protocol), flipped for the deviations table


def deviation_dir(run, choice=CHOICE) -> str:
    """What one protocol choice, flipped, makes anew for the deviations table (the rest is the main run's)."""
    return f"results/{run}/deviations/{choice}"


def deviation_samples(run, choice=CHOICE, env=ENV, algo=ALGO, seed=SEED) -> str:
    return f"{deviation_dir(run, choice)}/samples/{victim(env, algo, seed)}/samples.pt"


def deviation_align(run, choice=CHOICE, arch="{arch}", env=ENV, algo=ALGO, seed=SEED) -> str:
    return f"{deviation_dir(run, choice)}/align/{victim(env, algo, seed)}/{arch}.pt"


def deviation_rows(run, choice=CHOICE, env=ENV, algo=ALGO, seed=SEED) -> str:
    return f"{deviation_dir(run, choice)}/eval/{victim(env, algo, seed)}.csv"


def deviation_cost(run, choice=CHOICE, env=ENV, algo=ALGO, seed=SEED) -> str:
    return f"{deviation_dir(run, choice)}/eval/{victim(env, algo, seed)}.cost.csv"


FLIPPED_INPUT = "flipped_"  # prefix of the deviations table's inputs: one list of rows per choice


def flipped_inputs(files: dict[str, list[str]]) -> dict[str, list[str]]:
    """Each choice's flipped rows, as the deviations table's named inputs."""
    return {FLIPPED_INPUT + choice: paths for choice, paths in files.items()}


def flipped_from_inputs(inputs) -> dict[str, list[str]]:
    """Each choice's flipped rows among a job's named inputs, keyed by the choice again."""
    return {k[len(FLIPPED_INPUT) :]: list(v) for k, v in inputs.items() if k.startswith(FLIPPED_INPUT)}


def summary(run) -> str:
    return f"results/{run}/summary.csv"


def ablation_summary(run, ablation="{ablation}") -> str:
    return f"results/{run}/ablations/{ablation}/summary.csv"


def marl_eval(run) -> str:
    return f"results/{run}/marl_eval.json"


def figures_dir(run) -> str:
    return f"figures/{run}"


def tables_dir(run) -> str:
    return f"tables/{run}"


def figure(run, name, ext) -> str:
    return f"{figures_dir(run)}/{name}.{ext}"


def table(run, name, ext) -> str:
    return f"{tables_dir(run)}/{name}.{ext}"


def stem(path: str) -> str:
    """A figure or table path without its extension (functions that write several formats take it)."""
    return path.rsplit(".", 1)[0]


def log(run, rule, name) -> str:
    return f"logs/{run}/{rule}/{name}.log"


def benchmarks_dir(run) -> str:
    """Every job's ``benchmark:`` file of a run (time, memory), one folder per rule."""
    return f"benchmarks/{run}"


def benchmark(run, rule, name) -> str:
    return f"{benchmarks_dir(run)}/{rule}/{name}.tsv"
