"""Attack your own team: Align on PettingZoo's MPE simple_spread. Run: python examples/attack_pettingzoo.py"""

from mpe2 import simple_spread_v3

from marl_attacks.team import AttackedParallelEnv

env = AttackedParallelEnv(simple_spread_v3.parallel_env(N=3, max_cycles=25), attack="align-mlp", eps=0.1)
env.collect(episodes=20)  # benign episodes: record joint observations
env.fit_alignment(hidden=64, layers=2, epochs=20)  # f_theta; no arguments = paper sizes
obs, infos = env.reset(seed=0)  # from here on, observations are attacked
while env.agents:  # put your team's policy here
    obs, rewards, terms, truncs, infos = env.step({a: env.action_space(a).sample() for a in env.agents})
print("last perturbation |delta|_inf:", float(env.attacker.last_delta.abs().max()))
