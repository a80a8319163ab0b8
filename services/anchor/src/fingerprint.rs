//! Position-free fingerprints of a definition: a whole-body hash and a bottom-k sketch
//! of token 3-grams whose overlap estimates body similarity (Jaccard).
//!
//! FNV-1a is used because anchors are stored in messages: the hash must be the same in
//! every build and easy to recompute in any language (std's hasher promises neither).

const FNV64_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV64_PRIME: u64 = 0x0000_0100_0000_01b3;

/// How many shingle hashes an anchor keeps. Enough for a stable estimate (error ~1/√k)
/// while keeping a class-sized anchor a few hundred bytes.
pub const SKETCH_SIZE: usize = 128;

/// Tokens per shingle: long enough that reordering shows, short enough that a one-token
/// edit only disturbs a few shingles.
const SHINGLE: usize = 3;

pub fn fnv64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(FNV64_OFFSET, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(FNV64_PRIME)
    })
}

/// 32-bit fold of [`fnv64`], for values stored by the thousand.
pub fn fnv32(bytes: &[u8]) -> u32 {
    let h = fnv64(bytes);
    (h ^ (h >> 32)) as u32
}

/// Hash of a token-hash sequence (the body fingerprint).
pub fn sequence_hash(tokens: &[u32]) -> u64 {
    tokens.iter().fold(FNV64_OFFSET, |h, t| {
        t.to_le_bytes()
            .iter()
            .fold(h, |h, &b| (h ^ u64::from(b)).wrapping_mul(FNV64_PRIME))
    })
}

/// Bottom-k sketch (sorted, distinct) of the token 3-gram hashes.
pub fn sketch(tokens: &[u32]) -> Vec<u32> {
    let mut all: Vec<u32> = if tokens.len() < SHINGLE {
        vec![fnv32(&flatten(tokens))]
    } else {
        tokens
            .windows(SHINGLE)
            .map(|w| fnv32(&flatten(w)))
            .collect()
    };
    all.sort_unstable();
    all.dedup();
    all.truncate(SKETCH_SIZE);
    all
}

fn flatten(tokens: &[u32]) -> Vec<u8> {
    tokens.iter().flat_map(|t| t.to_le_bytes()).collect()
}

/// Estimated Jaccard similarity of the sets two sketches were drawn from.
///
/// When both sketches hold their whole set (under [`SKETCH_SIZE`]) this is exact;
/// otherwise it is the standard bottom-k estimate over the k smallest of the union.
pub fn similarity(a: &[u32], b: &[u32]) -> f32 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let limit = if a.len() < SKETCH_SIZE && b.len() < SKETCH_SIZE {
        usize::MAX
    } else {
        SKETCH_SIZE
    };
    let (mut i, mut j, mut union, mut both) = (0, 0, 0usize, 0usize);
    while union < limit && (i < a.len() || j < b.len()) {
        match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) if x == y => {
                both += 1;
                i += 1;
                j += 1;
            }
            (Some(x), Some(y)) if x < y => i += 1,
            (Some(_), Some(_)) => j += 1,
            (Some(_), None) => i += 1,
            (None, Some(_)) => j += 1,
            (None, None) => break,
        }
        union += 1;
    }
    if union == 0 {
        0.0
    } else {
        both as f32 / union as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_matches_reference_vectors() {
        assert_eq!(fnv64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv64(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn similarity_is_one_for_equal_and_low_for_disjoint() {
        let a: Vec<u32> = (0..40).collect();
        let b: Vec<u32> = (1000..1040).collect();
        assert_eq!(similarity(&sketch(&a), &sketch(&a)), 1.0);
        assert!(similarity(&sketch(&a), &sketch(&b)) < 0.05);
    }

    #[test]
    fn one_token_edit_keeps_most_similarity() {
        let a: Vec<u32> = (0..60).collect();
        let mut b = a.clone();
        b[30] = 999;
        let s = similarity(&sketch(&a), &sketch(&b));
        assert!(s > 0.85 && s < 1.0, "{s}");
    }

    #[test]
    fn large_sets_use_the_bottom_k_estimate() {
        let a: Vec<u32> = (0..5000).collect();
        let mut b = a.clone();
        b.truncate(2500);
        let s = similarity(&sketch(&a), &sketch(&b));
        assert!((0.3..0.7).contains(&s), "{s}");
    }
}
