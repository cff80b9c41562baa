//! Measuring to a verdict: `compare` (models side by side), `classify` (does it wait or
//! compute?), `fidelity` (the simulation against the real CPython) and the lessons whose
//! steps these experiments judge.

pub mod classify;
pub mod compare;
pub mod comparison;
pub mod crossover;
pub mod fidelity;
pub mod gil_shares;
pub mod judge;
pub mod lesson;
pub mod rehearsal;
pub mod room;
pub mod verdict;
