//! Path patterns for faults and rate limits: a glob when it has `*` (which matches any
//! run of characters, `/` included), else a prefix. Case-insensitive, as the remote
//! services route case-insensitively.

pub fn path_matches(pattern: &str, path: &str) -> bool {
    let pattern = pattern.to_ascii_lowercase();
    let path = path.to_ascii_lowercase();
    if pattern.contains('*') {
        glob(pattern.as_bytes(), path.as_bytes())
    } else {
        path.starts_with(&pattern)
    }
}

/// Iterative glob with single-star backtracking: linear in practice, no recursion.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if p < pattern.len() && pattern[p] == text[t] {
            p += 1;
            t += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::path_matches;

    #[test]
    fn prefix_and_glob() {
        assert!(path_matches("/api/Orders/", "/api/orders/GetOpenOrders"));
        assert!(!path_matches(
            "/api/Orders/",
            "/api/OpenOrders/GetIdentifiers"
        ));
        assert!(path_matches(
            "/api/*/Get*",
            "/api/OpenOrders/GetIdentifiers"
        ));
        assert!(path_matches("*", "/anything"));
        assert!(path_matches(
            "/api/Orders/*Info",
            "/api/Orders/SetOrderShippingInfo"
        ));
        assert!(!path_matches(
            "/api/Orders/*Info",
            "/api/Orders/SetOrderShippingInfoX"
        ));
    }
}
