//! The deterministic body pattern of `/bytes` and `/delay-ms?bytes=`: cheap, reproducible
//! from any offset (so it streams without being held in memory) and not compressible.

/// Word `k` of a splitmix64 stream started from `seed`.
fn pattern_word(seed: u64, k: u64) -> u64 {
    let mut z = k
        .wrapping_add(1)
        .wrapping_add(seed.wrapping_mul(0xD1B5_4A32_D192_ED03))
        .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Fill `buf` with the pattern of `seed` starting at byte `offset`.
pub fn pattern_fill_seeded(seed: u64, offset: u64, buf: &mut [u8]) {
    for (j, b) in buf.iter_mut().enumerate() {
        let i = offset + j as u64;
        *b = pattern_word(seed, i / 8).to_le_bytes()[(i % 8) as usize];
    }
}

/// Fill `buf` with the default pattern (seed 0) starting at byte `offset`.
pub fn pattern_fill(offset: u64, buf: &mut [u8]) {
    pattern_fill_seeded(0, offset, buf);
}

/// The first `n` bytes of the default pattern (what `/bytes/{n}` serves).
pub fn pattern(n: usize) -> Vec<u8> {
    let mut v = vec![0; n];
    pattern_fill(0, &mut v);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_is_deterministic_and_offsettable() {
        let all = pattern(100);
        let mut tail = vec![0; 37];
        pattern_fill(63, &mut tail);
        assert_eq!(&all[63..], &tail[..]);
        assert_ne!(all[..8], all[8..16]);
        assert_eq!(pattern(100), all);
    }

    #[test]
    fn seeds_give_different_streams() {
        let mut a = vec![0; 64];
        let mut b = vec![0; 64];
        pattern_fill_seeded(1, 0, &mut a);
        pattern_fill_seeded(2, 0, &mut b);
        assert_ne!(a, b);
        assert_ne!(a, pattern(64));
    }
}
