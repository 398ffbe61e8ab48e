//! The default templates compiled to Rust at build time (`build/compile_templates.rs` writes
//! one function per template from minijinja's parse of it), and what those functions call.
//!
//! They do what minijinja's interpreter does with the same values: attributes are looked up
//! on the same `Value`s, filters and tests are applied and values written through the same
//! environment (`State::apply_filter`, `State::format`), and the few operators the templates
//! use are minijinja's, copied for the cases that occur (`~`, `*`, `in`, comparisons,
//! `and`/`or`/`not`). Whatever they do not reproduce exactly, and every error, returns `Err`:
//! [`crate::render`] then renders that template with minijinja, so a compiled template never
//! reports an error of its own. A test renders every file both ways and compares the bytes.

use minijinja::value::{ObjectRepr, ValueIter};
use minijinja::{AutoEscape, Environment, Error, ErrorKind, State, Value};

/// A compiled template: writes its output to the `Cx`.
type Compiled = fn(&mut Cx<'_, '_>) -> Result<(), Error>;

include!(concat!(env!("OUT_DIR"), "/compiled.rs"));

/// The default templates that are compiled (every one but the partials, `_*.j2`, which are
/// compiled into those that include them).
pub fn names() -> impl Iterator<Item = &'static str> {
    COMPILED.iter().map(|(name, _, _)| *name)
}

/// Renders `name` with its compiled function, if it has one and neither it nor a template it
/// includes is in `overridden`. `None` when minijinja has to render it.
pub(crate) fn render(
    env: &Environment<'static>,
    name: &str,
    ctx: &Value,
    overridden: &[String],
) -> Option<String> {
    let (_, includes, compiled) = COMPILED.iter().find(|(n, _, _)| *n == name)?;
    if overridden
        .iter()
        .any(|o| o == name || includes.contains(&o.as_str()))
    {
        return None;
    }
    // An empty template of the same auto-escape mode gives the `State` filters and the
    // formatter run in (the mode comes from the name, as for the real template).
    let stub = match minijinja::default_auto_escape_callback(name) {
        AutoEscape::Json => "compiled.json",
        AutoEscape::None => "compiled.txt",
        _ => return None,
    };
    let stub = env.template_from_named_str(stub, "").ok()?;
    let mut cx = Cx {
        out: String::new(),
        state: stub.new_state(),
        root: ctx,
    };
    compiled(&mut cx).ok()?;
    Some(cx.out)
}

/// What a compiled template writes to and reads from.
pub(crate) struct Cx<'a, 'env> {
    out: String,
    state: State<'a, 'env>,
    root: &'a Value,
}

impl Cx<'_, '_> {
    fn raw(&mut self, text: &str) {
        self.out.push_str(text);
    }

    /// `{{ value }}`: as the environment's formatter writes it.
    fn emit(&mut self, value: Value) -> Result<(), Error> {
        let json = matches!(self.state.auto_escape(), AutoEscape::Json);
        if let Some(written) = crate::render::write_simple(&mut self.out, json, &value) {
            return written.map_err(Error::from);
        }
        let text = self.state.format(value)?;
        self.out.push_str(&text);
        Ok(())
    }

    /// A name no `for`, `with` or `set` binds: the render context's, else a global.
    fn root(&self, name: &str) -> Value {
        match self.root.get_attr(name) {
            Ok(v) if !v.is_undefined() => v,
            _ => self.state.lookup(name).unwrap_or(Value::UNDEFINED),
        }
    }

    fn filter(&mut self, name: &str, args: &[Value]) -> Result<Value, Error> {
        if let Some(result) = crate::render::own_filter(name, args) {
            return result;
        }
        // minijinja's `safe` (its `String` argument is the string itself).
        if name == "safe"
            && let [value] = args
            && let Some(s) = value.as_str()
        {
            return Ok(Value::from_safe_string(s.to_owned()));
        }
        self.state.apply_filter(name, args)
    }

    fn test(&mut self, name: &str, args: &[Value]) -> Result<bool, Error> {
        self.state.perform_test(name, args)
    }

    /// `l ~ r` (minijinja's `string_concat`); with a safe string under auto-escape minijinja
    /// escapes the other side: not reproduced.
    fn concat(&self, l: &Value, r: &Value) -> Result<Value, Error> {
        if l.is_undefined() || r.is_undefined() {
            return Err(unsupported("`~` with undefined"));
        }
        let escaping = !matches!(self.state.auto_escape(), AutoEscape::None);
        if escaping && (l.is_safe() || r.is_safe()) {
            return Err(unsupported("`~` with a safe string"));
        }
        let text = format!("{l}{r}");
        Ok(if l.is_safe() && r.is_safe() {
            Value::from_safe_string(text)
        } else {
            Value::from(text)
        })
    }
}

fn unsupported(what: &str) -> Error {
    Error::new(
        ErrorKind::InvalidOperation,
        format!("compiled templates leave {what} to minijinja"),
    )
}

/// What the generated functions call besides [`Cx`].
mod rt {
    use super::*;

    /// `{% if value %}` in strict mode: undefined is an error.
    pub fn truthy(value: &Value) -> Result<bool, Error> {
        if value.is_undefined() {
            return Err(unsupported("testing undefined"));
        }
        Ok(value.is_true())
    }

    pub fn iterate(value: Value) -> Result<ValueIter, Error> {
        if value.is_undefined() {
            return Err(unsupported("iterating undefined"));
        }
        value.try_iter()
    }

    /// `{% for a, b in ... %}`: each item must have exactly `N` items.
    pub fn unpack<const N: usize>(item: Value) -> Result<[Value; N], Error> {
        let items: Vec<Value> = item
            .as_object()
            .and_then(|o| o.try_iter())
            .ok_or_else(|| unsupported("unpacking what is not a sequence"))?
            .collect();
        <[Value; N]>::try_from(items).map_err(|_| unsupported("unpacking the wrong length"))
    }

    /// `text * count` (minijinja's `mul` for a string and an integer).
    pub fn mul(l: &Value, r: &Value) -> Result<Value, Error> {
        let (text, count) = match (l.as_str(), r.as_str()) {
            (Some(_), _) => (l, r),
            (None, Some(_)) => (r, l),
            (None, None) => return Err(unsupported("`*` without a string")),
        };
        let s = text.as_str().expect("checked above");
        let count = i128::try_from(count.clone())
            .map_err(|_| unsupported("`*` with a string and a non-integer"))?;
        let count = usize::try_from(count.max(0)).unwrap_or(usize::MAX);
        if s.len().saturating_mul(count) > 1 << 16 {
            return Err(unsupported("`*` making a long string"));
        }
        let repeated = s.repeat(count);
        Ok(if text.is_safe() {
            Value::from_safe_string(repeated)
        } else {
            Value::from(repeated)
        })
    }

    /// `value in container` (minijinja's `contains`, strict about undefined).
    pub fn contains(container: &Value, value: &Value) -> Result<Value, Error> {
        if container.is_undefined() || value.is_undefined() {
            return Err(unsupported("`in` with undefined"));
        }
        let found = if let Some(s) = container.as_str() {
            match value.as_str() {
                Some(v) => s.contains(v),
                None => s.contains(&value.to_string()),
            }
        } else if let Some(obj) = container.as_object() {
            match obj.repr() {
                ObjectRepr::Plain => false,
                ObjectRepr::Map => obj.get_value(value).is_some(),
                ObjectRepr::Seq | ObjectRepr::Iterable => obj
                    .try_iter()
                    .ok_or_else(|| unsupported("`in` with what cannot be iterated"))?
                    .any(|item| item == *value),
                _ => return Err(unsupported("`in` with this container")),
            }
        } else {
            return Err(unsupported("`in` with this container"));
        };
        Ok(Value::from(found))
    }
}
