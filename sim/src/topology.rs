//! The scenario's graphs, drawn from its seed: who connects to whom (random regular, small
//! world, hubs) and whose feeds each node replicates (everyone, random, power law, friends of
//! friends). Ordered sets throughout, so a seed gives the same graphs on every machine.

use std::collections::BTreeSet;

use rand_chacha::ChaCha20Rng;
use rand_core::RngCore;

use crate::scenario::{Follows, Topology};

fn below(rng: &mut ChaCha20Rng, n: usize) -> usize {
    (rng.next_u64() % n.max(1) as u64) as usize
}

fn chance(rng: &mut ChaCha20Rng, p: f64) -> bool {
    (rng.next_u64() as f64 / u64::MAX as f64) < p
}

/// Undirected edges, as neighbour sets.
pub fn connections(t: &Topology, n: usize, rng: &mut ChaCha20Rng) -> Vec<BTreeSet<usize>> {
    let mut adj = vec![BTreeSet::new(); n];
    let add = |adj: &mut Vec<BTreeSet<usize>>, a: usize, b: usize| {
        if a != b {
            adj[a].insert(b);
            adj[b].insert(a);
        }
    };
    let degree = t.degree.clamp(1, n - 1);
    match t.kind.as_str() {
        "small_world" => {
            for a in 0..n {
                for k in 1..=degree.div_ceil(2) {
                    let b = if chance(rng, t.rewire) {
                        below(rng, n)
                    } else {
                        (a + k) % n
                    };
                    add(&mut adj, a, b);
                }
            }
        }
        "hubs" => {
            let hubs = t.hubs.clamp(1, n);
            for h in 1..hubs {
                add(&mut adj, h - 1, h);
            }
            for a in hubs..n {
                for _ in 0..degree.min(hubs) {
                    add(&mut adj, a, below(rng, hubs));
                }
            }
        }
        _ => {
            // Random regular by pairing stubs, with leftover stubs joined at random.
            let mut stubs: Vec<usize> = (0..n).flat_map(|a| std::iter::repeat_n(a, degree)).collect();
            for i in (1..stubs.len()).rev() {
                stubs.swap(i, below(rng, i + 1));
            }
            for pair in stubs.chunks(2) {
                if let [a, b] = *pair {
                    add(&mut adj, a, b);
                }
            }
        }
    }
    // Every node reachable: join each component to node 0's.
    let mut seen = vec![false; n];
    let mut comps = Vec::new();
    for s in 0..n {
        if seen[s] {
            continue;
        }
        let mut stack = vec![s];
        seen[s] = true;
        while let Some(a) = stack.pop() {
            for &b in &adj[a] {
                if !seen[b] {
                    seen[b] = true;
                    stack.push(b);
                }
            }
        }
        comps.push(s);
    }
    for w in comps.windows(2) {
        add(&mut adj, w[0], w[1]);
    }
    adj
}

/// The feeds each node follows (never itself), and the replication hops they imply.
pub fn follows(f: &Follows, n: usize, rng: &mut ChaCha20Rng) -> (Vec<BTreeSet<usize>>, u32) {
    let count = f.count.min(n - 1);
    let mut out = vec![BTreeSet::new(); n];
    match f.kind.as_str() {
        "everyone" => {
            for (a, set) in out.iter_mut().enumerate() {
                set.extend((0..n).filter(|b| *b != a));
            }
        }
        "power_law" => {
            // Preferential: node b is picked with weight 1 / (b + 1).
            let weights: Vec<f64> = (0..n).map(|b| 1.0 / (b as f64 + 1.0)).collect();
            let total: f64 = weights.iter().sum();
            for (a, set) in out.iter_mut().enumerate() {
                let mut tries = 0;
                while set.len() < count && tries < count * 20 {
                    tries += 1;
                    let mut x = rng.next_u64() as f64 / u64::MAX as f64 * total;
                    let mut b = 0;
                    while b + 1 < n && x > weights[b] {
                        x -= weights[b];
                        b += 1;
                    }
                    if b != a {
                        set.insert(b);
                    }
                }
            }
        }
        _ => {
            for (a, set) in out.iter_mut().enumerate() {
                while set.len() < count {
                    let b = below(rng, n);
                    if b != a {
                        set.insert(b);
                    }
                }
            }
        }
    }
    let hops = if f.kind == "friends_of_friends" { 2 } else { 1 };
    (out, hops)
}

/// Feeds within `hops` follows of `a` (itself excluded).
pub fn scope(follows: &[BTreeSet<usize>], a: usize, hops: u32) -> BTreeSet<usize> {
    let mut scope: BTreeSet<usize> = follows[a].clone();
    if hops >= 2 {
        for b in &follows[a] {
            scope.extend(follows[*b].iter().copied());
        }
    }
    scope.remove(&a);
    scope
}
