//! What the benchmarks share: the naive baseline map and the ratio table.

use std::collections::{HashMap, HashSet};

/// The naive baseline: each origin's permitted request names, expanded.
pub fn naive_map(policy: &scapi_policy::policy::Policy) -> HashMap<String, HashSet<String>> {
    policy
        .origins()
        .map(|o| {
            let names: HashSet<String> = o
                .grant
                .grants()
                .iter()
                .map(|id| id.name().to_string())
                .collect();
            (o.origin.to_string(), names)
        })
        .collect()
}

/// Prints the closing table: workload, scapi's figure, the baseline's, the
/// ratio.
pub fn print_table(rows: &[(String, String, String, String)]) {
    let w = [44, 34, 24];
    eprintln!();
    eprintln!(
        "{:<w0$}  {:<w1$}  {:<w2$}  ratio",
        "workload",
        "scapi",
        "baseline",
        w0 = w[0],
        w1 = w[1],
        w2 = w[2]
    );
    for (a, b, c, d) in rows {
        eprintln!(
            "{a:<w0$}  {b:<w1$}  {c:<w2$}  {d}",
            w0 = w[0],
            w1 = w[1],
            w2 = w[2]
        );
    }
}
