/* A small seeded PRNG (splitmix64) so that fault picks are reproducible with
 * --seed. Not for secrets: tokens are also drawn from it on purpose, so a run
 * is repeatable end to end. */
#ifndef CRMSIM_RNG_H
#define CRMSIM_RNG_H

#include <stdint.h>

struct sim_rng {
    uint64_t state;
};

void sim_rng_seed(struct sim_rng *rng, uint64_t seed);
uint64_t sim_rng_next(struct sim_rng *rng);
/* Uniform double in [0, 1). */
double sim_rng_unit(struct sim_rng *rng);

#endif
