//! Compiles the default templates to Rust (`OUT_DIR/compiled.rs`, run by `src/compiled.rs`).
//!
//! minijinja interprets a template's instructions one at a time: rendering 1,000 services
//! spent most of its ~360 M instructions in the interpreter (variable lookups through frames,
//! the value stack, a filter call per `{{ x | f }}`), and every run parsed the templates
//! first (~3 M instructions, a fifth of a seed build). Here each template becomes a Rust
//! function that does the same operations on the same `minijinja::Value`s: attribute lookups,
//! filters and tests through minijinja's `State`, values written by the environment's
//! formatter. Text is copied as it is.
//!
//! Only what the default templates use is compiled; a template using anything else (macros,
//! `loop`, `{% set %}` inside `{% if %}`, ...) is left out with a cargo warning and rendered by
//! minijinja as before (a test requires every default template to compile). At run time any
//! error, and any case the compiled code does not reproduce exactly (say, `~` with a safe
//! string), makes the caller render that template with minijinja instead, so errors always
//! come from minijinja. A test renders every output both ways and compares the bytes.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use minijinja::machinery::ast::{self, CallArg, Expr, Stmt};
use minijinja::value::ValueKind;

/// The syntax of `render.rs`'s environment; the both-ways test catches any difference.
fn syntax() -> minijinja::syntax::SyntaxConfig {
    minijinja::syntax::SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .keep_trailing_newline(true)
        .build()
        .expect("default delimiters are valid")
}

/// Rust source of every template in `sources` that is not a partial (`_*.j2`) and compiles:
/// one function each, and `COMPILED: &[(name, included partials, function)]`.
pub fn compile(sources: &BTreeMap<String, String>) -> String {
    let mut code = String::new();
    let mut table = String::from("pub(crate) const COMPILED: &[(&str, &[&str], Compiled)] = &[\n");
    for (name, source) in sources {
        if name.starts_with('_') {
            continue;
        }
        let mut g = Gen {
            sources,
            code: String::new(),
            scopes: vec![Vec::new()],
            next: 0,
            including: vec![name.clone()],
            included: BTreeSet::new(),
            loops: Vec::new(),
        };
        match g.template(name, source) {
            Ok(()) => {
                let f = format!("t_{}", ident(name));
                writeln!(
                    code,
                    "fn {f}(cx: &mut Cx<'_, '_>) -> Result<(), Error> {{\n{}    Ok(())\n}}\n",
                    g.code
                )
                .unwrap();
                let includes: Vec<String> = g.included.iter().map(|i| format!("{i:?}")).collect();
                writeln!(table, "    ({name:?}, &[{}], {f}),", includes.join(", ")).unwrap();
            }
            Err(why) => println!("cargo:warning=template {name} is not compiled: {why}"),
        }
    }
    table.push_str("];\n");
    code + &table
}

struct Gen<'s> {
    sources: &'s BTreeMap<String, String>,
    code: String,
    /// Names bound by `for`, `with` and `set`, innermost scope last, with their Rust locals.
    scopes: Vec<Vec<(String, String)>>,
    next: usize,
    /// The include chain, to refuse recursion.
    including: Vec<String>,
    included: BTreeSet<String>,
    /// The index local of each enclosing `for` and whether `loop.*` used it, innermost last;
    /// `None` where `loop` is not compiled.
    loops: Vec<Option<(String, bool)>>,
}

type Out<T = ()> = Result<T, String>;

/// The "local" of a name set inside `{% if %}` (see [`Gen::branch`]).
const SET_IN_IF: &str = "";

fn ident(name: &str) -> String {
    name.chars()
        .filter_map(|c| match c {
            'a'..='z' | '0'..='9' => Some(c),
            'A'..='Z' => Some(c.to_ascii_lowercase()),
            '.' | '_' | '-' => Some('_'),
            _ => None,
        })
        .collect()
}

impl Gen<'_> {
    /// Generates the statements of template `name` (a template, or a partial it includes).
    fn template(&mut self, name: &str, source: &str) -> Out {
        let ast = minijinja::machinery::parse(source, name, syntax())
            .map_err(|e| format!("{name} does not parse: {e}"))?;
        let Stmt::Template(t) = ast else {
            return Err(format!("{name} has no template root"));
        };
        self.stmts(&t.children)
    }

    /// Runs `f` and returns the code it generated instead of appending it.
    fn capture(&mut self, f: impl FnOnce(&mut Self) -> Out) -> Out<String> {
        let outer = std::mem::take(&mut self.code);
        let result = f(self);
        let inner = std::mem::replace(&mut self.code, outer);
        result.map(|()| inner)
    }

    fn local(&mut self, name: &str) -> String {
        self.next += 1;
        let local = format!("v{}_{}", self.next, ident(name));
        self.scopes
            .last_mut()
            .expect("a scope")
            .push((name.into(), local.clone()));
        local
    }

    fn line(&mut self, text: &str) {
        let depth = 4 * self.scopes.len();
        writeln!(self.code, "{:depth$}{text}", "").unwrap();
    }

    fn stmts(&mut self, stmts: &[Stmt<'_>]) -> Out {
        stmts.iter().try_for_each(|stmt| self.stmt(stmt))
    }

    fn scoped(&mut self, body: impl FnOnce(&mut Self) -> Out) -> Out {
        self.line("{");
        self.scopes.push(Vec::new());
        let result = body(self);
        self.scopes.pop();
        self.line("}");
        result
    }

    /// A branch of `{% if %}`: minijinja keeps its `{% set %}`s after the `{% endif %}`, a
    /// Rust block does not, so a later use of such a name refuses to compile.
    fn branch(&mut self, body: &[Stmt<'_>]) -> Out {
        self.line("{");
        self.scopes.push(Vec::new());
        let result = self.stmts(body);
        let set = self.scopes.pop().expect("pushed above");
        self.line("}");
        let outer = self.scopes.last_mut().expect("a scope");
        outer.extend(
            set.into_iter()
                .map(|(name, _)| (name, SET_IN_IF.to_string())),
        );
        result
    }

    fn stmt(&mut self, stmt: &Stmt<'_>) -> Out {
        match stmt {
            Stmt::EmitRaw(raw) => self.line(&format!("cx.raw({:?});", raw.raw)),
            Stmt::EmitExpr(e) => {
                let value = self.expr(&e.expr)?;
                self.line(&format!("let value = {value};"));
                self.line("cx.emit(value)?;");
            }
            Stmt::ForLoop(f) => {
                if f.recursive {
                    return Err("a recursive loop".into());
                }
                let iter = self.expr(&f.iter)?;
                self.next += 1;
                // `loop.*` needs the length up front; minijinja counts only the items that
                // pass a loop filter, which is not reproduced.
                let counter = f
                    .filter_expr
                    .is_none()
                    .then(|| (format!("i{}", self.next), false));
                self.loops.push(counter);
                let result = self.scoped(|g| {
                    // Whether an item passed the filter, for `{% else %}`.
                    let any = (!f.else_body.is_empty()).then(|| g.local("<any>"));
                    if let Some(any) = &any {
                        g.line(&format!("let mut {any} = false;"));
                    }
                    // The body first: whether it reads `loop.*` decides how the loop counts.
                    g.scopes.push(Vec::new());
                    let body = g.capture(|g| {
                        match &f.target {
                            Expr::Var(v) => {
                                let local = g.local(v.id);
                                g.line(&format!("let {local} = item;"));
                            }
                            Expr::List(list) => {
                                let mut names = Vec::new();
                                for item in &list.items {
                                    let Expr::Var(v) = item else {
                                        return Err("a loop target that is not a name".into());
                                    };
                                    names.push(g.local(v.id));
                                }
                                g.line(&format!(
                                    "let [{}] = rt::unpack::<{}>(item)?;",
                                    names.join(", "),
                                    names.len()
                                ));
                            }
                            _ => return Err("a loop target that is not a name".into()),
                        }
                        if let Some(filter) = &f.filter_expr {
                            let test = g.expr_ref(filter)?;
                            g.line(&format!("if !rt::truthy({test})? {{ continue; }}"));
                        }
                        if let Some(any) = &any {
                            g.line(&format!("{any} = true;"));
                        }
                        g.stmts(&f.body)
                    });
                    g.scopes.pop();
                    let body = body?;
                    match g.loops.last() {
                        Some(Some((i, true))) => {
                            let i = i.clone();
                            g.line(&format!(
                                "let items: Vec<Value> = rt::iterate({iter})?.collect();"
                            ));
                            g.line(&format!("let n{i} = items.len();"));
                            g.line(&format!(
                                "for ({i}, item) in items.into_iter().enumerate() {{"
                            ));
                        }
                        _ => g.line(&format!("for item in rt::iterate({iter})? {{")),
                    }
                    g.code.push_str(&body);
                    g.line("}");
                    if let Some(any) = &any {
                        g.line(&format!("if !{any}"));
                        g.loops.push(None); // `loop` in `{% else %}` is the outer loop's
                        let result = g.scoped(|g| g.stmts(&f.else_body));
                        g.loops.pop();
                        result?;
                    }
                    Ok(())
                });
                self.loops.pop();
                result?;
            }
            Stmt::IfCond(i) => {
                let test = self.expr_ref(&i.expr)?;
                self.line(&format!("if rt::truthy({test})?"));
                self.branch(&i.true_body)?;
                if !i.false_body.is_empty() {
                    self.line("else");
                    self.branch(&i.false_body)?;
                }
            }
            Stmt::WithBlock(w) => self.scoped(|g| {
                for (target, expr) in &w.assignments {
                    let Expr::Var(v) = target else {
                        return Err("a `with` target that is not a name".into());
                    };
                    let value = g.expr(expr)?;
                    let local = g.local(v.id);
                    g.line(&format!("let {local} = {value};"));
                }
                g.stmts(&w.body)
            })?,
            Stmt::Set(s) => {
                let Expr::Var(v) = &s.target else {
                    return Err("a `set` target that is not a name".into());
                };
                let value = self.expr(&s.expr)?;
                let local = self.local(v.id);
                self.line(&format!("let {local} = {value};"));
            }
            Stmt::Include(inc) => {
                let Expr::Const(c) = &inc.name else {
                    return Err("an include whose name is not a string".into());
                };
                let Some(name) = c.value.as_str().map(str::to_owned) else {
                    return Err("an include whose name is not a string".into());
                };
                if inc.ignore_missing {
                    return Err("`ignore missing`".into());
                }
                let source = self
                    .sources
                    .get(&name)
                    .ok_or_else(|| format!("it includes {name}, which does not exist"))?;
                if self.including.contains(&name) {
                    return Err(format!("{name} includes itself"));
                }
                let escape = minijinja::default_auto_escape_callback;
                if escape(&name) != escape(&self.including[0]) {
                    return Err(format!("{name} escapes differently"));
                }
                self.included.insert(name.clone());
                self.including.push(name.clone());
                self.scoped(|g| g.template(&name, source))?;
                self.including.pop();
            }
            _ => return Err(format!("unsupported statement {stmt:?}")),
        }
        Ok(())
    }

    fn lookup(&self, name: &str) -> Option<&str> {
        self.scopes
            .iter()
            .rev()
            .flat_map(|s| s.iter().rev())
            .find(|(n, _)| n == name)
            .map(|(_, local)| local.as_str())
    }

    /// The Rust local of `expr` when it is a name bound by `for`, `with` or `set`.
    fn local_of(&self, expr: &Expr<'_>) -> Option<String> {
        match expr {
            Expr::Var(v) => self
                .lookup(v.id)
                .filter(|local| *local != SET_IN_IF)
                .map(str::to_owned),
            _ => None,
        }
    }

    /// A Rust expression of type `&Value`: a name's local itself, not a copy.
    fn expr_ref(&mut self, expr: &Expr<'_>) -> Out<String> {
        match self.local_of(expr) {
            Some(local) => Ok(format!("&{local}")),
            None => Ok(format!("&{}", self.expr(expr)?)),
        }
    }

    /// A method receiver of type `Value`: a name's local itself, not a copy.
    fn receiver(&mut self, expr: &Expr<'_>) -> Out<String> {
        match self.local_of(expr) {
            Some(local) => Ok(local),
            None => Ok(format!("({})", self.expr(expr)?)),
        }
    }

    /// A Rust expression of type `Value` (it may use `?`).
    fn expr(&mut self, expr: &Expr<'_>) -> Out<String> {
        Ok(match expr {
            Expr::Var(v) => {
                if v.id == "loop" {
                    return Err("`loop`".into());
                }
                match self.lookup(v.id) {
                    Some(SET_IN_IF) => return Err(format!("`{}` set inside `{{% if %}}`", v.id)),
                    Some(local) => format!("{local}.clone()"),
                    None => format!("cx.root({:?})", v.id),
                }
            }
            Expr::Const(c) => constant(&c.value)?,
            Expr::GetAttr(a) => match &a.expr {
                Expr::Var(v) if v.id == "loop" && self.lookup("loop").is_none() => {
                    let Some(Some((i, used))) = self.loops.last_mut() else {
                        return Err(
                            "`loop` outside a loop, or in a filtered loop or its `else`".into()
                        );
                    };
                    *used = true;
                    let n = format!("n{i}");
                    match a.name {
                        "index" => format!("Value::from({i} + 1)"),
                        "index0" => format!("Value::from({i})"),
                        "first" => format!("Value::from({i} == 0)"),
                        "last" => format!("Value::from({i} + 1 == {n})"),
                        "length" => format!("Value::from({n})"),
                        other => return Err(format!("`loop.{other}`")),
                    }
                }
                inner => format!("{}.get_attr({:?})?", self.receiver(inner)?, a.name),
            },
            Expr::GetItem(i) => format!(
                "{}.get_item({})?",
                self.receiver(&i.expr)?,
                self.expr_ref(&i.subscript_expr)?
            ),
            Expr::UnaryOp(u) => match u.op {
                ast::UnaryOpKind::Not => {
                    format!("Value::from(!rt::truthy({})?)", self.expr_ref(&u.expr)?)
                }
                _ => return Err(format!("unsupported operator {u:?}")),
            },
            Expr::BinOp(b) => {
                let (l, r) = (self.expr(&b.left)?, self.expr(&b.right)?);
                match b.op {
                    ast::BinOpKind::ScAnd => {
                        format!("{{ let l = {l}; if rt::truthy(&l)? {{ {r} }} else {{ l }} }}")
                    }
                    ast::BinOpKind::ScOr => {
                        format!("{{ let l = {l}; if rt::truthy(&l)? {{ l }} else {{ {r} }} }}")
                    }
                    ast::BinOpKind::Concat => format!("cx.concat(&{l}, &{r})?"),
                    ast::BinOpKind::Mul => format!("rt::mul(&{l}, &{r})?"),
                    ast::BinOpKind::Eq => format!("Value::from({l} == {r})"),
                    ast::BinOpKind::Ne => format!("Value::from({l} != {r})"),
                    ast::BinOpKind::Lt => format!("Value::from({l} < {r})"),
                    ast::BinOpKind::Lte => format!("Value::from({l} <= {r})"),
                    ast::BinOpKind::Gt => format!("Value::from({l} > {r})"),
                    ast::BinOpKind::Gte => format!("Value::from({l} >= {r})"),
                    ast::BinOpKind::In => format!("rt::contains(&{r}, &{l})?"),
                    _ => return Err(format!("unsupported operator {:?}", b.op)),
                }
            }
            Expr::IfExpr(i) => {
                let Some(otherwise) = &i.false_expr else {
                    return Err("an `if` expression without `else`".into());
                };
                format!(
                    "if rt::truthy({})? {{ {} }} else {{ {} }}",
                    self.expr_ref(&i.test_expr)?,
                    self.expr(&i.true_expr)?,
                    self.expr(otherwise)?
                )
            }
            Expr::Filter(f) => {
                let Some(value) = &f.expr else {
                    return Err("a filter block".into());
                };
                let mut args = vec![self.expr(value)?];
                args.extend(self.args(&f.args)?);
                format!("cx.filter({:?}, &[{}])?", f.name, args.join(", "))
            }
            Expr::Test(t) => {
                let mut args = vec![self.expr(&t.expr)?];
                args.extend(self.args(&t.args)?);
                format!(
                    "Value::from(cx.test({:?}, &[{}])?)",
                    t.name,
                    args.join(", ")
                )
            }
            Expr::List(l) => {
                let items = l
                    .items
                    .iter()
                    .map(|i| self.expr(i))
                    .collect::<Out<Vec<_>>>()?;
                format!("Value::from_object(vec![{}])", items.join(", "))
            }
            Expr::Map(m) => {
                let mut pairs = Vec::new();
                for (k, v) in m.keys.iter().zip(&m.values) {
                    pairs.push(format!("({}, {})", self.expr(k)?, self.expr(v)?));
                }
                format!(
                    "Value::from_object(std::collections::BTreeMap::<Value, Value>::from([{}]))",
                    pairs.join(", ")
                )
            }
            _ => return Err(format!("unsupported expression {expr:?}")),
        })
    }

    fn args(&mut self, args: &[CallArg<'_>]) -> Out<Vec<String>> {
        args.iter()
            .map(|a| match a {
                CallArg::Pos(e) => self.expr(e),
                _ => Err("keyword or splat arguments".into()),
            })
            .collect()
    }
}

/// A literal as a Rust expression of type `Value`.
fn constant(value: &minijinja::Value) -> Out<String> {
    Ok(match value.kind() {
        ValueKind::String if !value.is_safe() => {
            format!("Value::from({:?})", value.as_str().expect("a string"))
        }
        ValueKind::Bool => format!("Value::from({})", value.is_true()),
        ValueKind::None => "Value::from(())".into(),
        ValueKind::Number if value.is_integer() => match value.as_i64() {
            Some(n) => format!("Value::from({n}i64)"),
            None => return Err(format!("the integer {value}")),
        },
        ValueKind::Number => {
            let f = f64::try_from(value.clone()).map_err(|e| e.to_string())?;
            format!("Value::from({f:?}f64)")
        }
        _ => return Err(format!("the constant {value:?}")),
    })
}
