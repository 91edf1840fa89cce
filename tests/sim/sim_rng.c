#include "sim_rng.h"

void sim_rng_seed(struct sim_rng *rng, uint64_t seed)
{
    rng->state = seed;
}

/* splitmix64 (Steele, Lea, Flood 2014): one add and three mix steps; passes
 * BigCrush, which is far more than fault picking needs. */
uint64_t sim_rng_next(struct sim_rng *rng)
{
    uint64_t z;

    rng->state += 0x9E3779B97F4A7C15ULL;
    z = rng->state;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

double sim_rng_unit(struct sim_rng *rng)
{
    /* 53 high bits -> exactly representable doubles in [0, 1). */
    return (double)(sim_rng_next(rng) >> 11) * (1.0 / 9007199254740992.0);
}
