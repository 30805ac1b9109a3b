/** The demo's meta-learning minutes: what leaves the whole demo within 15 minutes on 2 cores. */
export const DEMO_DEFAULT_MINUTES = 8;
