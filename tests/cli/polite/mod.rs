//! Politeness, measured at the servers: the per-host rate and concurrency, robots.txt, and retries.

mod rate;
mod retries;
mod robots;
