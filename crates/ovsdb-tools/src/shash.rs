//! A string-keyed map that iterates in the order Open vSwitch's `shash`
//! does.
//!
//! ovsdb-client and ovsdb-tool print several things in the iteration order
//! of their hash tables rather than sorted: `list-tables`, `list-columns`,
//! the rows of a monitor update, `show-log -m`, the records of `backup` and
//! `ovsdb-tool create`. That order is a deterministic function of the keys
//! and the order they were inserted, so matching those outputs byte for
//! byte means keeping the same table: the same hash of the key (Murmur3
//! steps, as Open vSwitch computes it without SSE 4.2, which Debian's
//! x86-64 build lacks), the same bucket count and growth rule, new nodes at
//! the head of their bucket's chain, and the same re-chaining on growth.
//! Lookups are by that hash too, so the map is also an ordinary map.

/// One step of Open vSwitch's Murmur-based hash (`mhash_add`).
fn mhash_add(hash: u32, data: u32) -> u32 {
    let mut hash = hash;
    if data != 0 {
        let d = data.wrapping_mul(0xcc9e_2d51).rotate_left(15).wrapping_mul(0x1b87_3593);
        hash ^= d;
    }
    hash.rotate_left(13).wrapping_mul(5).wrapping_add(0xe654_6b64)
}

fn mhash_finish(hash: u32) -> u32 {
    let mut h = hash;
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^ (h >> 16)
}

/// `hash_bytes(p, n, basis)`: little-endian 32-bit words, the tail
/// zero-padded, finished with the length.
pub fn hash_bytes(bytes: &[u8], basis: u32) -> u32 {
    let mut hash = basis;
    let mut chunks = bytes.chunks_exact(4);
    for w in &mut chunks {
        hash = mhash_add(hash, u32::from_le_bytes([w[0], w[1], w[2], w[3]]));
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut tail = [0u8; 4];
        tail[..rest.len()].copy_from_slice(rest);
        hash = mhash_add(hash, u32::from_le_bytes(tail));
    }
    mhash_finish(hash ^ bytes.len() as u32)
}

/// The hash `shash` files a name under (`hash_string(name, 0)`).
pub fn hash_name(name: &str) -> u32 {
    hash_bytes(name.as_bytes(), 0)
}

struct Node<V> {
    name: String,
    hash: u32,
    value: V,
    next: Option<usize>,
}

/// A map from names to values with Open vSwitch's iteration order.
pub struct Shash<V> {
    /// Node storage; a removed node leaves `None` behind.
    nodes: Vec<Option<Node<V>>>,
    /// Head of each bucket's chain; `mask + 1` buckets.
    buckets: Vec<Option<usize>>,
    mask: usize,
    n: usize,
}

impl<V> Default for Shash<V> {
    fn default() -> Shash<V> {
        Shash::new()
    }
}

impl<V: Clone> Clone for Shash<V> {
    /// A copy with the same iteration order (not what re-inserting the
    /// entries would give; use [`Shash::rebuilt`] for that).
    fn clone(&self) -> Shash<V> {
        Shash {
            nodes: self
                .nodes
                .iter()
                .map(|n| {
                    n.as_ref().map(|n| Node {
                        name: n.name.clone(),
                        hash: n.hash,
                        value: n.value.clone(),
                        next: n.next,
                    })
                })
                .collect(),
            buckets: self.buckets.clone(),
            mask: self.mask,
            n: self.n,
        }
    }
}

impl<V: std::fmt::Debug> std::fmt::Debug for Shash<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<V> Shash<V> {
    pub fn new() -> Shash<V> {
        Shash {
            nodes: Vec::new(),
            buckets: vec![None],
            mask: 0,
            n: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    fn find_index(&self, name: &str, hash: u32) -> Option<usize> {
        let mut cur = self.buckets[hash as usize & self.mask];
        while let Some(i) = cur {
            let node = self.nodes[i].as_ref()?;
            if node.hash == hash && node.name == name {
                return Some(i);
            }
            cur = node.next;
        }
        None
    }

    pub fn get(&self, name: &str) -> Option<&V> {
        let i = self.find_index(name, hash_name(name))?;
        self.nodes[i].as_ref().map(|n| &n.value)
    }

    pub fn get_mut(&mut self, name: &str) -> Option<&mut V> {
        let i = self.find_index(name, hash_name(name))?;
        self.nodes[i].as_mut().map(|n| &mut n.value)
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// `shash_add`: inserts without looking for an existing entry.
    pub fn add(&mut self, name: impl Into<String>, value: V) {
        let name = name.into();
        let hash = hash_name(&name);
        self.insert_node(name, hash, value);
    }

    /// `shash_replace`: replaces the value of an existing entry in place,
    /// or adds one. Returns the old value.
    pub fn replace(&mut self, name: impl Into<String>, value: V) -> Option<V> {
        let name = name.into();
        let hash = hash_name(&name);
        match self.find_index(&name, hash) {
            Some(i) => self.nodes[i].as_mut().map(|n| std::mem::replace(&mut n.value, value)),
            None => {
                self.insert_node(name, hash, value);
                None
            }
        }
    }

    /// `shash_find_and_delete`. The table does not shrink, as in Open vSwitch.
    pub fn remove(&mut self, name: &str) -> Option<V> {
        let hash = hash_name(name);
        let i = self.find_index(name, hash)?;
        let bucket = hash as usize & self.mask;
        let next = self.nodes[i].as_ref().and_then(|n| n.next);
        if self.buckets[bucket] == Some(i) {
            self.buckets[bucket] = next;
        } else {
            let mut cur = self.buckets[bucket];
            while let Some(j) = cur {
                let node = self.nodes[j].as_mut()?;
                if node.next == Some(i) {
                    node.next = next;
                    break;
                }
                cur = node.next;
            }
        }
        self.n -= 1;
        self.nodes[i].take().map(|n| n.value)
    }

    fn insert_node(&mut self, name: String, hash: u32, value: V) {
        let idx = self.nodes.len();
        let bucket = hash as usize & self.mask;
        self.nodes.push(Some(Node {
            name,
            hash,
            value,
            next: self.buckets[bucket],
        }));
        self.buckets[bucket] = Some(idx);
        self.n += 1;
        if self.n / 2 > self.mask {
            let new_mask = calc_mask(self.n);
            if new_mask > self.mask {
                self.resize(new_mask);
            }
        }
    }

    /// Re-chains every node into `new_mask + 1` buckets, visiting the old
    /// buckets in order and each chain from its head.
    fn resize(&mut self, new_mask: usize) {
        let mut buckets = vec![None; new_mask + 1];
        for b in 0..=self.mask {
            let mut cur = self.buckets[b];
            while let Some(i) = cur {
                let Some(node) = self.nodes[i].as_mut() else { break };
                cur = node.next;
                let nb = node.hash as usize & new_mask;
                node.next = buckets[nb];
                buckets[nb] = Some(i);
            }
        }
        self.buckets = buckets;
        self.mask = new_mask;
    }

    /// Entries in Open vSwitch's iteration order (`SHASH_FOR_EACH`).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &V)> {
        let mut bucket = 0;
        let mut cur: Option<usize> = None;
        std::iter::from_fn(move || {
            loop {
                if let Some(i) = cur {
                    let node = self.nodes[i].as_ref()?;
                    cur = node.next;
                    return Some((node.name.as_str(), &node.value));
                }
                if bucket > self.mask {
                    return None;
                }
                cur = self.buckets[bucket];
                bucket += 1;
            }
        })
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.iter().map(|(_, v)| v)
    }

    /// Entries sorted by name, bytewise (`shash_sort`).
    pub fn sorted(&self) -> Vec<(&str, &V)> {
        let mut v: Vec<(&str, &V)> = self.iter().collect();
        v.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        v
    }

    /// A new map holding the same entries inserted in this map's iteration
    /// order, as `json_deep_clone` and `SHASH_FOR_EACH … shash_add` copies
    /// build them.
    pub fn rebuilt(&self) -> Shash<V>
    where
        V: Clone,
    {
        let mut out = Shash::new();
        for (k, v) in self.iter() {
            out.add(k, v.clone());
        }
        out
    }
}

/// The smallest power of two minus one that keeps the load at most two
/// nodes per bucket, and at least 3 once buckets are allocated.
fn calc_mask(capacity: usize) -> usize {
    let mut mask = capacity / 2;
    mask |= mask >> 1;
    mask |= mask >> 2;
    mask |= mask >> 4;
    mask |= mask >> 8;
    mask |= mask >> 16;
    mask |= mask >> 32;
    mask | ((mask & 1) << 1)
}

impl<V> FromIterator<(String, V)> for Shash<V> {
    /// Inserts in the iterator's order, replacing duplicates.
    fn from_iter<I: IntoIterator<Item = (String, V)>>(iter: I) -> Shash<V> {
        let mut out = Shash::new();
        for (k, v) in iter {
            out.replace(k, v);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_like_open_vswitch() {
        // Fixed points of the algorithm, computed by hand from its definition.
        assert_eq!(hash_bytes(b"", 0), mhash_finish(0));
        assert_ne!(hash_name("a"), hash_name("b"));
        assert_eq!(
            hash_bytes(b"abcd", 0),
            mhash_finish(mhash_add(0, u32::from_le_bytes(*b"abcd")) ^ 4)
        );
    }

    #[test]
    fn map_operations() {
        let mut m = Shash::new();
        for i in 0..100 {
            m.add(format!("k{i}"), i);
        }
        assert_eq!(m.len(), 100);
        for i in 0..100 {
            assert_eq!(m.get(&format!("k{i}")), Some(&i));
        }
        assert_eq!(m.replace("k5", 500), Some(5));
        assert_eq!(m.get("k5"), Some(&500));
        assert_eq!(m.remove("k7"), Some(7));
        assert_eq!(m.get("k7"), None);
        assert_eq!(m.iter().count(), 99);
        let sorted: Vec<&str> = m.sorted().into_iter().map(|(k, _)| k).collect();
        let mut expect: Vec<String> = (0..100).filter(|&i| i != 7).map(|i| format!("k{i}")).collect();
        expect.sort();
        assert_eq!(sorted, expect);
    }

    #[test]
    fn growth_follows_calc_mask() {
        assert_eq!(calc_mask(0), 0);
        assert_eq!(calc_mask(2), 3);
        assert_eq!(calc_mask(4), 3);
        assert_eq!(calc_mask(8), 7);
        assert_eq!(calc_mask(9), 7);
        assert_eq!(calc_mask(16), 15);
    }
}
