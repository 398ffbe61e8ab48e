//! Container image references: `[registry[:port]/]repository[:tag][@sha256:<64 hex>]`.
//!
//! The grammar is the one of the OCI distribution reference (the `docker/reference` package
//! that kubelet and containerd use), restricted to sha256 digests, so a typo such as a
//! truncated digest or an upper-case repository fails `build` instead of an image pull.

/// What an image reference looks like, for messages.
pub const FORMAT: &str = "`[registry/]repository[:tag][@sha256:<64 hex digits>]`, e.g. `ghcr.io/tacos/gateway-api:1.8.2`";

/// A checked image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef<'a> {
    pub registry: Option<&'a str>,
    pub repository: &'a str,
    pub tag: Option<&'a str>,
    /// The hex digits of a `@sha256:` digest.
    pub digest: Option<&'a str>,
}

impl<'a> ImageRef<'a> {
    /// Parses `s`; the error says what is wrong (the caller adds [`FORMAT`]).
    pub fn parse(s: &'a str) -> Result<ImageRef<'a>, String> {
        if s.is_empty() {
            return Err("the reference is empty".into());
        }
        if s.len() > 4096 {
            return Err("the reference is longer than 4096 characters".into());
        }
        let (rest, digest) = match s.split_once('@') {
            None => (s, None),
            Some((rest, d)) => {
                let hex = d.strip_prefix("sha256:").ok_or_else(|| {
                    format!(
                        "digest {d:?} must start with `sha256:` (the only algorithm registries use)"
                    )
                })?;
                if hex.len() != 64 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
                    return Err(format!(
                        "digest {d:?} must be `sha256:` followed by exactly 64 lower-case hex digits (found {})",
                        hex.len()
                    ));
                }
                (rest, Some(hex))
            }
        };
        // A `:` after the last `/` starts the tag; one before it belongs to a registry port.
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
            None => (rest, None),
        };
        if let Some(t) = tag {
            let ok = !t.is_empty()
                && t.len() <= 128
                && !t.starts_with(['.', '-'])
                && t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
            if !ok {
                return Err(format!(
                    "tag {t:?} must be 1 to 128 letters, digits, `_`, `.` or `-`, not starting with `.` or `-`"
                ));
            }
        }
        let mut parts: Vec<&str> = name.split('/').collect();
        // The first component is a registry when it looks like a host: `ghcr.io`, `localhost`,
        // `registry:5000`.
        let registry =
            if parts.len() > 1 && (parts[0].contains(['.', ':']) || parts[0] == "localhost") {
                let host = parts.remove(0);
                check_registry(host)?;
                Some(host)
            } else {
                None
            };
        for p in &parts {
            check_path_component(p)?;
        }
        let repository = &name[registry.map_or(0, |r| r.len() + 1)..];
        if name.len() > 255 {
            return Err("the repository name is longer than 255 characters".into());
        }
        Ok(ImageRef {
            registry,
            repository,
            tag,
            digest,
        })
    }
}

fn check_registry(host: &str) -> Result<(), String> {
    let (h, port) = match host.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (host, None),
    };
    let label_ok = |l: &str| {
        !l.is_empty()
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    if !h.split('.').all(label_ok) {
        return Err(format!(
            "registry {host:?} must be a host name (letters, digits, `-` and `.`), optionally with `:port`"
        ));
    }
    if let Some(p) = port
        && (p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(format!("registry port {p:?} must be a number"));
    }
    Ok(())
}

/// A repository path component: lower-case letters and digits, separated by `.`, `_`, `__`
/// or any number of `-`.
fn check_path_component(p: &str) -> Result<(), String> {
    let err = || {
        format!(
            "repository component {p:?} must be lower-case letters and digits, separated by `.`, `_`, `__` or `-`"
        )
    };
    let b = p.as_bytes();
    let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    if b.is_empty() || !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return Err(err());
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let sep = &p[start..i];
        if !(sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|c| c == b'-')) {
            return Err(err());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_usual_spellings() {
        let d = "a".repeat(64);
        for s in [
            "redis:7.4".to_string(),
            "redis".into(),
            "ghcr.io/tacos/gateway-api:1.8.2".into(),
            "localhost:5000/x/y_z__w:v1".into(),
            format!("ghcr.io/tacos/api@sha256:{d}"),
            format!("ghcr.io/tacos/api:1.0@sha256:{d}"),
        ] {
            ImageRef::parse(&s).unwrap_or_else(|e| panic!("{s}: {e}"));
        }
        let r = ImageRef::parse("registry:5000/team/app:2").unwrap();
        assert_eq!(
            (r.registry, r.repository, r.tag),
            (Some("registry:5000"), "team/app", Some("2"))
        );
    }

    #[test]
    fn rejects_malformed_references() {
        for s in [
            "",
            "Redis:7.4",
            "ghcr.io/tacos/gateway api:1",
            "x@sha256:abc",
            "x@md5:0123",
            &format!("x@sha256:{}", "A".repeat(64)),
            "x:",
            "x:-1",
            "a//b",
            "a/-b",
            "reg:port/x",
        ] {
            assert!(ImageRef::parse(s).is_err(), "{s:?} accepted");
        }
    }
}
