//! Tools for developing sleuth rather than using it: the deterministic
//! history generator behind `sleuth debug generate` and the benchmarks.

pub mod synth;
