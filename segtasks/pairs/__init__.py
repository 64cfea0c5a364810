"""Paired nights (GitHub issue 21): a case measured in the control's environment and in
tonight's, in pairs, so that the verdict on software is a paired ratio on this machine
tonight, apart from the verdict on the machine (the control's own series across nights).

- `schedule`: the order of the two sides in each pair (randomized, balanced);
- `measure`: the pairs themselves, interleaved or as a duet, each side a fresh process;
- `stats`: the paired ratio, its interval, its p-value and the minimum detectable effect;
- `verdict`: the verdicts on software and on the machine, and the night's sentence.

Duet benchmarking: Bulej et al., ICPE 2020. Randomized multiple interleaved trials: Abedi
and Brecht, ICPE 2017. Cloud noise and repetitions: Laaber et al., EMSE 2019.
"""
