//! Numbers as people read them, the ground floor every layer may use (media's limit messages,
//! the codec's paste errors, the player's copy notes): no imports from the crate.

/// `2048` as `2,048`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `1.8 MB`, `640 KB`, `12 bytes`.
pub fn human_size(bytes: usize) -> String {
    if bytes >= 1_000_000 {
        format!("{:.1} MB", bytes as f64 / 1_000_000.0)
    } else if bytes >= 1_000 {
        format!("{} KB", bytes / 1_000)
    } else {
        format!("{} bytes", thousands(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(2048), "2,048");
        assert_eq!(thousands(1234567), "1,234,567");
    }

    #[test]
    fn sizes_read_as_bytes_kilobytes_and_megabytes() {
        assert_eq!(human_size(12), "12 bytes");
        assert_eq!(human_size(640_000), "640 KB");
        assert_eq!(human_size(1_800_000), "1.8 MB");
    }
}
