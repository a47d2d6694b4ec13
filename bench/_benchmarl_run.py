"""Train BenchMARL's MAPPO on a VMAS task and print the wall time as one JSON line.

Runs inside the throwaway venv made by ``train_throughput.py`` (BenchMARL, torchrl,
tensordict on the project's torch pin); it imports nothing from this project.
Usage: ``python _benchmarl_run.py '<json settings>'`` (see ``train_throughput.py``).
Only BenchMARL's own experiment API is used: ``Experiment(...).run()`` with evaluation,
loggers, JSON output and checkpoints off, so the time is collection plus training.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time


def main() -> None:
    s = json.loads(sys.argv[1])
    os.environ["OMP_NUM_THREADS"] = str(s["threads"])
    import torch

    torch.set_num_threads(s["threads"])
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])  # one-off torch._dynamo import, untimed

    import benchmarl
    import tensordict
    import torchrl
    from benchmarl.algorithms import MappoConfig
    from benchmarl.environments import VmasTask
    from benchmarl.experiment import Experiment, ExperimentConfig
    from benchmarl.models.mlp import MlpConfig

    ec = ExperimentConfig.get_from_yaml()
    ec.sampling_device = ec.train_device = ec.buffer_device = "cpu"
    ec.prefer_continuous_actions = s["continuous_actions"]
    ec.evaluation, ec.render, ec.loggers, ec.create_json = False, False, [], False
    ec.checkpoint_interval, ec.checkpoint_at_end = 0, False
    ec.save_folder = tempfile.mkdtemp(prefix="benchmarl-")
    # the same rollout and update shape as our MAPPO
    ec.on_policy_collected_frames_per_batch = s["num_envs"] * s["rollout_len"]
    ec.on_policy_n_envs_per_worker = s["num_envs"]
    ec.on_policy_n_minibatch_iters = s["epochs"]  # passes over the batch
    ec.on_policy_minibatch_size = s["num_envs"] * s["rollout_len"] // s["minibatches"]
    ec.max_n_frames, ec.max_n_iters = s["total_frames"], None
    ec.lr, ec.adam_eps, ec.gamma = s["lr"], s["adam_eps"], s["gamma"]
    ec.clip_grad_norm, ec.clip_grad_val = True, s["max_grad_norm"]

    task = getattr(VmasTask, s["scenario"].upper()).get_from_yaml()
    task.config = {"max_steps": s["max_steps"], **s["scenario_kwargs"]}  # scenario defaults otherwise
    alg = MappoConfig.get_from_yaml()
    alg.clip_epsilon, alg.entropy_coef, alg.critic_coef = s["clip"], s["ent_coef"], s["vf_coef"]
    alg.lmbda = s["gae_lambda"]
    actor, critic = MlpConfig.get_from_yaml(), MlpConfig.get_from_yaml()
    actor.num_cells = critic.num_cells = [s["hidden"], s["hidden"]]

    start = time.perf_counter()
    exp = Experiment(
        task=task, algorithm_config=alg, model_config=actor, critic_model_config=critic, seed=s["seed"], config=ec
    )
    built = time.perf_counter()
    exp.run()
    end = time.perf_counter()
    print(
        json.dumps(
            {
                "seconds": end - start,
                "setup_seconds": built - start,
                "run_seconds": end - built,
                "frames": int(exp.total_frames),
                "torch_threads": torch.get_num_threads(),
                "versions": {
                    "benchmarl": getattr(benchmarl, "__version__", "?"),
                    "torchrl": torchrl.__version__,
                    "tensordict": tensordict.__version__,
                    "torch": torch.__version__,
                },
            }
        )
    )


if __name__ == "__main__":
    main()
