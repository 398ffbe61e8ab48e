//! Typed scalars of the spec: Kubernetes quantities, durations, Redis sizes and rates.
//!
//! Each keeps the spelling the user wrote (so output shows `512Mi`, not `536870912`) next to
//! its numeric value, and rejects look-alikes such as `512MB` with a message saying what is
//! allowed.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// Generates Deserialize (from a string or a number), Serialize (as the original spelling)
/// and JsonSchema (string with a pattern, or a number) for a parsed scalar type.
macro_rules! scalar_type {
    ($ty:ident, $expecting:expr, $pattern:expr, $numbers:expr) => {
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl Visitor<'_> for V {
                    type Value = $ty;
                    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_str<E: de::Error>(self, s: &str) -> Result<$ty, E> {
                        $ty::parse(s).map_err(E::custom)
                    }
                    fn visit_u64<E: de::Error>(self, n: u64) -> Result<$ty, E> {
                        if $numbers {
                            $ty::parse(&n.to_string()).map_err(E::custom)
                        } else {
                            Err(E::invalid_type(de::Unexpected::Unsigned(n), &self))
                        }
                    }
                    fn visit_i64<E: de::Error>(self, n: i64) -> Result<$ty, E> {
                        if $numbers {
                            $ty::parse(&n.to_string()).map_err(E::custom)
                        } else {
                            Err(E::invalid_type(de::Unexpected::Signed(n), &self))
                        }
                    }
                    fn visit_f64<E: de::Error>(self, n: f64) -> Result<$ty, E> {
                        if $numbers {
                            $ty::parse(&n.to_string()).map_err(E::custom)
                        } else {
                            Err(E::invalid_type(de::Unexpected::Float(n), &self))
                        }
                    }
                }
                d.deserialize_any(V)
            }
        }
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.text)
            }
        }
        impl JsonSchema for $ty {
            fn schema_name() -> Cow<'static, str> {
                stringify!($ty).into()
            }
            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                if $numbers {
                    json_schema!({
                        "description": $expecting,
                        "anyOf": [{"type": "string", "pattern": $pattern}, {"type": "number", "minimum": 0}]
                    })
                } else {
                    json_schema!({"description": $expecting, "type": "string", "pattern": $pattern})
                }
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.text)
            }
        }
    };
}

/// A CPU amount as Kubernetes writes it: `500m`, `2`, `0.5`.
#[derive(Debug, Clone, PartialEq)]
pub struct Cpu {
    pub millis: u64,
    text: String,
}

impl Cpu {
    pub fn parse(s: &str) -> Result<Cpu, String> {
        let err = || {
            format!(
                "invalid CPU quantity {s:?}: expected cores (`2`, `0.5`) or millicores (`500m`)"
            )
        };
        let millis = if let Some(m) = s.strip_suffix('m') {
            m.parse::<u64>().map_err(|_| err())?
        } else {
            let cores: f64 = s.parse().map_err(|_| err())?;
            if !cores.is_finite() || !(0.0..=1e9).contains(&cores) {
                return Err(err());
            }
            let m = cores * 1000.0;
            if m.fract().abs() > 1e-9 {
                return Err(format!(
                    "invalid CPU quantity {s:?}: finer than a millicore; write it as `{}m`",
                    m.round()
                ));
            }
            m as u64
        };
        if millis == 0 {
            return Err(format!(
                "invalid CPU quantity {s:?}: must be greater than 0"
            ));
        }
        Ok(Cpu {
            millis,
            text: s.to_string(),
        })
    }
    pub fn cores(&self) -> f64 {
        self.millis as f64 / 1000.0
    }
}
scalar_type!(
    Cpu,
    "a CPU quantity: cores (`2`, `0.5`) or millicores (`500m`)",
    "^([0-9]+m|[0-9]+(\\.[0-9]+)?)$",
    true
);

/// A memory amount as Kubernetes writes it: `512Mi`, `1Gi`, `400Gi`, `1G`.
#[derive(Debug, Clone, PartialEq)]
pub struct Memory {
    pub bytes: u64,
    text: String,
}

const MEMORY_SUFFIXES: [(&str, u64); 10] = [
    ("Ki", 1 << 10),
    ("Mi", 1 << 20),
    ("Gi", 1 << 30),
    ("Ti", 1 << 40),
    ("Pi", 1 << 50),
    ("k", 1_000),
    ("M", 1_000_000),
    ("G", 1_000_000_000),
    ("T", 1_000_000_000_000),
    ("P", 1_000_000_000_000_000),
];

impl Memory {
    pub fn parse(s: &str) -> Result<Memory, String> {
        let digits = s.trim_end_matches(|c: char| c.is_ascii_alphabetic());
        let suffix = &s[digits.len()..];
        let factor = if suffix.is_empty() {
            1
        } else {
            MEMORY_SUFFIXES
                .iter()
                .find(|(name, _)| *name == suffix)
                .map(|(_, f)| *f)
                .ok_or_else(|| {
                    format!(
                        "invalid memory quantity {s:?}: `{suffix}` is not a Kubernetes unit; use \
                         Ki, Mi, Gi, Ti (powers of 1024) or k, M, G, T (powers of 1000), e.g. `512Mi`"
                    )
                })?
        };
        let n: u64 = digits.parse().map_err(|_| {
            format!(
                "invalid memory quantity {s:?}: expected a whole number and a unit, e.g. `512Mi`"
            )
        })?;
        let bytes = n
            .checked_mul(factor)
            .ok_or_else(|| format!("invalid memory quantity {s:?}: too large"))?;
        if bytes == 0 {
            return Err(format!(
                "invalid memory quantity {s:?}: must be greater than 0"
            ));
        }
        Ok(Memory {
            bytes,
            text: s.to_string(),
        })
    }
    pub fn gib(&self) -> f64 {
        self.bytes as f64 / (1u64 << 30) as f64
    }
}
scalar_type!(
    Memory,
    "a memory quantity: a whole number with Ki/Mi/Gi/Ti (or k/M/G/T), e.g. `512Mi`",
    "^[0-9]+(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?$",
    true
);

/// A duration as Go and Kubernetes write it: `5m`, `3s`, `720h`, `1h30m`.
#[derive(Debug, Clone, PartialEq)]
pub struct Duration {
    pub seconds: u64,
    text: String,
}

impl Duration {
    pub fn parse(s: &str) -> Result<Duration, String> {
        let err = || {
            format!(
                "invalid duration {s:?}: expected whole numbers with units s, m or h, e.g. `5m`, `90s`, `1h30m`"
            )
        };
        if s.is_empty() {
            return Err(err());
        }
        let mut seconds: u64 = 0;
        let mut num = String::new();
        for c in s.chars() {
            if c.is_ascii_digit() {
                num.push(c);
                continue;
            }
            let unit = match c {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                _ => return Err(err()),
            };
            let n: u64 = num.parse().map_err(|_| err())?;
            seconds = n
                .checked_mul(unit)
                .and_then(|v| seconds.checked_add(v))
                .ok_or_else(err)?;
            num.clear();
        }
        if !num.is_empty() {
            return Err(err());
        }
        Ok(Duration {
            seconds,
            text: s.to_string(),
        })
    }
}
scalar_type!(
    Duration,
    "a duration with units s, m, h: `5m`, `90s`, `1h30m`",
    "^([0-9]+(s|m|h))+$",
    false
);

/// A size as redis.conf writes it: `512mb`, `1gb`, `100k` (k = 1000, kb = 1024).
#[derive(Debug, Clone, PartialEq)]
pub struct RedisSize {
    pub bytes: u64,
    text: String,
}

impl RedisSize {
    pub fn parse(s: &str) -> Result<RedisSize, String> {
        let lower = s.to_ascii_lowercase();
        let digits = lower.trim_end_matches(|c: char| c.is_ascii_alphabetic());
        let factor: u64 = match &lower[digits.len()..] {
            "" | "b" => 1,
            "k" => 1_000,
            "kb" => 1 << 10,
            "m" => 1_000_000,
            "mb" => 1 << 20,
            "g" => 1_000_000_000,
            "gb" => 1 << 30,
            other => {
                return Err(format!(
                    "invalid Redis size {s:?}: unit `{other}` is not one redis.conf knows; use \
                     kb, mb, gb (powers of 1024) or k, m, g (powers of 1000), e.g. `512mb`"
                ));
            }
        };
        let n: u64 = digits.parse().map_err(|_| {
            format!("invalid Redis size {s:?}: expected a whole number and a unit, e.g. `512mb`")
        })?;
        let bytes = n
            .checked_mul(factor)
            .ok_or_else(|| format!("invalid Redis size {s:?}: too large"))?;
        Ok(RedisSize {
            bytes,
            text: s.to_string(),
        })
    }
}
scalar_type!(
    RedisSize,
    "a size as redis.conf writes it: `512mb`, `1gb` (kb/mb/gb = 1024-based, k/m/g = 1000-based)",
    "^[0-9]+([kKmMgG][bB]?|[bB])?$",
    true
);

/// A request rate: absolute (`10000`) or relative to the SLO target (`"100%"`, `"1/3"`, `"4/3"`).
#[derive(Debug, Clone, PartialEq)]
pub struct Rate {
    kind: RateKind,
    text: String,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum RateKind {
    Absolute(f64),
    OfTarget(f64),
}

impl Rate {
    pub fn parse(s: &str) -> Result<Rate, String> {
        let err = || {
            format!(
                "invalid rate {s:?}: expected requests per second (`10000`), a percentage of the \
                 SLO target (`\"50%\"`) or a fraction of it (`\"1/3\"`)"
            )
        };
        let positive = |v: f64| v.is_finite() && v > 0.0 && v < 1e12;
        let kind = if let Some(p) = s.strip_suffix('%') {
            let v: f64 = p.trim().parse().map_err(|_| err())?;
            RateKind::OfTarget(v / 100.0)
        } else if let Some((a, b)) = s.split_once('/') {
            let a: f64 = a.trim().parse().map_err(|_| err())?;
            let b: f64 = b.trim().parse().map_err(|_| err())?;
            if !positive(b) {
                return Err(err());
            }
            RateKind::OfTarget(a / b)
        } else {
            RateKind::Absolute(s.trim().parse().map_err(|_| err())?)
        };
        let v = match kind {
            RateKind::Absolute(v) | RateKind::OfTarget(v) => v,
        };
        if !positive(v) {
            return Err(format!("invalid rate {s:?}: must be greater than 0"));
        }
        Ok(Rate {
            kind,
            text: s.to_string(),
        })
    }
    /// The share of the SLO target, if the rate is relative (`"50%"` → 0.5); `None` if absolute.
    pub fn relative(&self) -> Option<f64> {
        match self.kind {
            RateKind::Absolute(_) => None,
            RateKind::OfTarget(f) => Some(f),
        }
    }
    /// Requests per second for the given SLO target.
    pub fn resolve(&self, target_rps: f64) -> f64 {
        match self.kind {
            RateKind::Absolute(v) => v,
            RateKind::OfTarget(f) => f * target_rps,
        }
    }
}
scalar_type!(
    Rate,
    "requests per second (`10000`), or relative to the SLO target: `\"50%\"` or `\"1/3\"`",
    "^[0-9]+(\\.[0-9]+)?(%|/[0-9]+(\\.[0-9]+)?)?$",
    true
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_quantities() {
        assert_eq!(Cpu::parse("500m").unwrap().millis, 500);
        assert_eq!(Cpu::parse("2").unwrap().millis, 2000);
        assert_eq!(Cpu::parse("0.25").unwrap().millis, 250);
        assert!(Cpu::parse("0").is_err());
        assert!(Cpu::parse("1.0005").is_err());
        assert!(Cpu::parse("two").is_err());
        assert!(Cpu::parse("NaN").is_err());
    }

    #[test]
    fn memory_quantities() {
        assert_eq!(Memory::parse("512Mi").unwrap().bytes, 512 << 20);
        assert_eq!(Memory::parse("1G").unwrap().bytes, 1_000_000_000);
        let e = Memory::parse("512MB").unwrap_err();
        assert!(e.contains("`MB` is not a Kubernetes unit"), "{e}");
        assert!(Memory::parse("99999999999Pi").is_err());
    }

    #[test]
    fn durations_and_sizes() {
        assert_eq!(Duration::parse("1h30m").unwrap().seconds, 5400);
        assert!(Duration::parse("5").is_err());
        assert!(Duration::parse("5d").is_err());
        assert_eq!(RedisSize::parse("512mb").unwrap().bytes, 536_870_912);
        assert_eq!(RedisSize::parse("1GB").unwrap().bytes, 1 << 30);
        assert!(RedisSize::parse("512MiB").is_err());
    }

    #[test]
    fn rates_resolve_against_target() {
        assert_eq!(Rate::parse("1/3").unwrap().resolve(30000.0), 10000.0);
        assert_eq!(Rate::parse("4/3").unwrap().resolve(30000.0), 40000.0);
        assert_eq!(Rate::parse("50%").unwrap().resolve(3000.0), 1500.0);
        assert_eq!(Rate::parse("700").unwrap().resolve(3000.0), 700.0);
        assert!(Rate::parse("1/0").is_err());
        assert!(Rate::parse("-5").is_err());
    }
}
