//! Benchmark corpora and helpers shared by the criterion benches.
