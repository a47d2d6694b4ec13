"""How often the authors' white-box loss has no gradient on a value victim with action masks.

Their loss (``protocol.white_box: authors``) is minus the maximum of the Q-values with unavailable
actions filled with 0; where every available Q-value is negative and some action is unavailable, that
maximum is a constant 0. This plays the victim greedily (benign) and counts those agent-steps.

    python bench/experiments/whitebox-authors-max/zero_gradient.py \
        zoo/paper/lbf-2s-8x8-3p-2f/qmix/seed0/policy.pt --env lbf-2s-8x8-3p-2f
"""

import argparse

import torch

from marl_attacks.algos.base import mask_scores
from marl_attacks.envs import make_env
from marl_attacks.victims import load_victim


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("policy", help="a QMIX/VDN victim's policy.pt")
    p.add_argument("--env", required=True)
    p.add_argument("--episodes", type=int, default=64)
    p.add_argument("--max-steps", type=int, default=50)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(1)
    policy, _ = load_victim(args.policy)
    env = make_env(args.env, args.episodes, "cpu", max_steps=args.max_steps, seed=args.seed, backend="batched")
    obs = env.reset(list(range(args.seed, args.seed + args.episodes)))
    steps = negative = no_gradient = 0
    with torch.no_grad():
        for _ in range(args.max_steps):
            avail = env.available_actions()
            # q_values reads a recurrent victim's memory without advancing it; acting below advances it
            best_available = mask_scores(policy.q_values(obs), avail).max(-1).values
            all_negative = best_available < 0
            negative += int(all_negative.sum())
            no_gradient += int((all_negative & (~avail).any(-1)).sum())
            steps += all_negative.numel()
            step = env.step(policy.act(obs, avail))
            policy.reset_memory(step.terminated | step.truncated)
            obs = step.obs
    print(
        f"{args.env}, {args.policy}: {steps} agent-steps; every available Q < 0 in {negative / steps:.1%}; "
        f"that and an unavailable action (the authors' loss is a constant 0: no gradient) in {no_gradient / steps:.1%}"
    )


if __name__ == "__main__":
    main()
