//! Validating a BYO SDL into a [`Plan`]: which object types exist, which
//! JSON shape each one reads, and where every field's value comes from.
//!
//! Rules (each broken rule is an [`Issue`] with line and column):
//! - only object types; no `schema`, `extend`, directive definitions,
//!   interfaces, unions, enums, inputs or custom scalars;
//! - a `Query` type; `_meta` on it is reserved (honeygraph adds it);
//! - no type named like a built-in scalar or starting with `_`, no field
//!   starting with `__`;
//! - every `Query` field has exactly one binding directive; fields of the
//!   other types read the key of their parent's shape named like the field,
//!   or the one given by `@from(key:)`, or have a single-object binding;
//! - list bindings (`@richlist`, `@transfers`, `@ops`) only on `Query`;
//! - every object type is reachable from `Query` and reads one shape.

use std::collections::{BTreeMap, HashMap, VecDeque};

use async_graphql::parser::types::{
    BaseType, ConstDirective, FieldDefinition, Type, TypeKind, TypeSystemDefinition,
};
use async_graphql::parser::{parse_schema, Pos, Positioned};
use async_graphql::{Name, Value};

use crate::byo::shapes::{follow_path, Shape, Slot};

/// One problem of an uploaded SDL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Issue {
    pub(crate) line: usize,
    pub(crate) column: usize,
    pub(crate) message: String,
}

impl Issue {
    fn at(pos: Pos, message: impl Into<String>) -> Self {
        Issue {
            line: pos.line,
            column: pos.column,
            message: message.into(),
        }
    }
}

/// Scalars a BYO schema may use.
pub(crate) const SCALARS: [&str; 5] = ["String", "Int", "Float", "Boolean", "ID"];

/// The binding directives, for messages.
pub(crate) const DIRECTIVES: &str =
    "@account, @richlist, @transfers, @ops, @stats, @meta, @token, @state, @from";

/// What a binding reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BindKind {
    Account,
    Richlist,
    Transfers,
    Ops,
    Stats,
    Meta,
    Token,
    /// A dotted path from the state root (`token.name`, `stats.holders`).
    State(String),
}

impl BindKind {
    fn from_name(name: &str) -> Option<BindKind> {
        Some(match name {
            "account" => BindKind::Account,
            "richlist" => BindKind::Richlist,
            "transfers" => BindKind::Transfers,
            "ops" => BindKind::Ops,
            "stats" => BindKind::Stats,
            "meta" => BindKind::Meta,
            "token" => BindKind::Token,
            "state" => BindKind::State(String::new()),
            _ => return None,
        })
    }

    /// Inputs the binding takes, and whether each one is required.
    fn params(&self) -> &'static [(&'static str, bool)] {
        match self {
            BindKind::Account => &[("name", true), ("block", false)],
            BindKind::Richlist => &[("first", false), ("after", false), ("block", false)],
            BindKind::Transfers => &[
                ("account", false),
                ("from", false),
                ("to", false),
                ("fromBlock", false),
                ("toBlock", false),
                ("first", false),
                ("after", false),
            ],
            BindKind::Ops => &[("trxId", true)],
            _ => &[],
        }
    }

    fn is_list(&self) -> bool {
        matches!(
            self,
            BindKind::Richlist | BindKind::Transfers | BindKind::Ops
        )
    }
}

/// Where a binding input comes from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Input {
    /// The field's argument of that name.
    Arg(String),
    /// The key of the parent object.
    Parent(String),
    /// A constant given in the directive.
    Literal(Value),
}

/// A field's binding: what to read and with which inputs.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Binding {
    pub(crate) kind: BindKind,
    pub(crate) inputs: BTreeMap<&'static str, Input>,
    /// For `@richlist`/`@transfers` on a non-list type: `{nodes, pageInfo}`.
    pub(crate) connection: bool,
}

/// Where a field's value comes from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Source {
    /// The parent object's key.
    Key(String),
    /// A read of the projection.
    Bind(Binding),
}

/// How a field's value is converted for GraphQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Out {
    Scalar(String),
    Object,
    List(Box<Out>),
}

/// One field argument.
#[derive(Debug, Clone)]
pub(crate) struct ArgPlan {
    pub(crate) name: String,
    pub(crate) ty: Type,
    pub(crate) default: Option<Value>,
    pub(crate) description: Option<String>,
}

/// One field.
#[derive(Debug, Clone)]
pub(crate) struct FieldPlan {
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    pub(crate) ty: Type,
    pub(crate) out: Out,
    pub(crate) args: Vec<ArgPlan>,
    pub(crate) source: Source,
}

/// One object type.
#[derive(Debug, Clone)]
pub(crate) struct TypePlan {
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    pub(crate) fields: Vec<FieldPlan>,
}

/// A validated BYO schema, ready to build.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub(crate) types: Vec<TypePlan>,
}

struct ObjectDef {
    pos: Pos,
    description: Option<String>,
    fields: Vec<Positioned<FieldDefinition>>,
}

/// Validates `sdl`; every problem found is reported, in source order.
pub(crate) fn plan(sdl: &str) -> Result<Plan, Vec<Issue>> {
    let document = parse_schema(sdl).map_err(|e| {
        let pos = e.positions().next().unwrap_or(Pos { line: 1, column: 1 });
        let message = e
            .to_string()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        vec![Issue::at(pos, format!("syntax error: {message}"))]
    })?;
    let mut issues = Vec::new();
    let mut objects: Vec<(String, ObjectDef)> = Vec::new();
    for definition in document.definitions {
        match definition {
            TypeSystemDefinition::Schema(s) => issues.push(Issue::at(
                s.pos,
                "schema definitions are not supported: the root type is `Query`",
            )),
            TypeSystemDefinition::Directive(d) => issues.push(Issue::at(
                d.pos,
                format!(
                    "directive definitions are not allowed (`@{}`): the binding directives are built in: {DIRECTIVES}",
                    d.node.name.node
                ),
            )),
            TypeSystemDefinition::Type(t) => {
                let name = t.node.name.node.to_string();
                let pos = t.node.name.pos;
                if SCALARS.contains(&name.as_str()) {
                    issues.push(Issue::at(
                        pos,
                        format!("`{name}` is a built-in scalar and cannot be redefined"),
                    ));
                    continue;
                }
                if name.starts_with('_') {
                    issues.push(Issue::at(
                        pos,
                        format!("type names starting with `_` are reserved (`{name}`)"),
                    ));
                    continue;
                }
                if t.node.extend {
                    issues.push(Issue::at(t.pos, "`extend` is not supported"));
                    continue;
                }
                if let Some(d) = t.node.directives.first() {
                    issues.push(Issue::at(
                        d.pos,
                        format!("directives on types are not supported (`@{}`)", d.node.name.node),
                    ));
                }
                let TypeKind::Object(object) = t.node.kind else {
                    issues.push(Issue::at(
                        pos,
                        format!("`{name}`: only object types are supported (no scalars, interfaces, unions, enums or inputs)"),
                    ));
                    continue;
                };
                if !object.implements.is_empty() {
                    issues.push(Issue::at(pos, format!("`{name}`: interfaces are not supported")));
                }
                if objects.iter().any(|(n, _)| *n == name) {
                    issues.push(Issue::at(pos, format!("type `{name}` is defined twice")));
                    continue;
                }
                objects.push((
                    name,
                    ObjectDef {
                        pos,
                        description: t.node.description.map(|d| d.node),
                        fields: object.fields,
                    },
                ));
            }
        }
    }
    let index: HashMap<String, usize> = objects
        .iter()
        .enumerate()
        .map(|(i, (name, _))| (name.clone(), i))
        .collect();
    let Some(&query) = index.get("Query") else {
        issues.push(Issue::at(
            Pos { line: 1, column: 1 },
            "the schema needs a `Query` type",
        ));
        return Err(issues);
    };

    // Each type's shape, found by walking from Query (which has none).
    let mut shapes: Vec<Option<Shape>> = vec![None; objects.len()];
    let mut planned: Vec<Option<TypePlan>> = vec![None; objects.len()];
    let mut queue = VecDeque::from([query]);
    let mut seen = vec![false; objects.len()];
    seen[query] = true;
    while let Some(i) = queue.pop_front() {
        let (name, def) = &objects[i];
        let mut fields = Vec::new();
        let mut names: Vec<&str> = Vec::new();
        for field in &def.fields {
            let planner = FieldPlanner {
                type_name: name,
                parent: shapes[i],
                objects: &index,
            };
            match planner.plan(field) {
                Ok((plan, target)) => {
                    if names.contains(&plan.name.as_str()) {
                        issues.push(Issue::at(
                            field.node.name.pos,
                            format!("field `{name}.{}` is defined twice", plan.name),
                        ));
                        continue;
                    }
                    names.push(field.node.name.node.as_str());
                    if let Some((type_name, shape)) = target {
                        let t = index[&type_name];
                        match shapes[t] {
                            Some(existing) if existing != shape => issues.push(Issue::at(
                                field.node.ty.pos,
                                format!(
                                    "type `{type_name}` would read both {} and {}; use one type per kind of data",
                                    existing.a_name(),
                                    shape.a_name()
                                ),
                            )),
                            _ => shapes[t] = Some(shape),
                        }
                        if t == query {
                            issues.push(Issue::at(
                                field.node.ty.pos,
                                "`Query` cannot be the type of a field",
                            ));
                        } else if !seen[t] {
                            seen[t] = true;
                            queue.push_back(t);
                        }
                    }
                    fields.push(plan);
                }
                Err(issue) => issues.push(issue),
            }
        }
        planned[i] = Some(TypePlan {
            name: name.clone(),
            description: def.description.clone(),
            fields,
        });
    }
    for (i, (name, def)) in objects.iter().enumerate() {
        if !seen[i] {
            issues.push(Issue::at(
                def.pos,
                format!("type `{name}` is not reachable from `Query`"),
            ));
        } else if def.fields.is_empty() {
            issues.push(Issue::at(def.pos, format!("type `{name}` has no fields")));
        }
    }
    if !issues.is_empty() {
        issues.sort_by_key(|i| (i.line, i.column));
        return Err(issues);
    }
    // Query first, then the others in source order.
    let mut types: Vec<TypePlan> = Vec::new();
    types.extend(planned[query].take());
    types.extend(planned.into_iter().flatten());
    Ok(Plan { types })
}

struct FieldPlanner<'a> {
    type_name: &'a str,
    /// The shape of the parent object; `None` on `Query`.
    parent: Option<Shape>,
    objects: &'a HashMap<String, usize>,
}

/// The named type at the bottom of `ty`, and how deep in lists it is.
fn unwrap(ty: &Type) -> (&Name, usize) {
    match &ty.base {
        BaseType::Named(name) => (name, 0),
        BaseType::List(inner) => {
            let (name, depth) = unwrap(inner);
            (name, depth + 1)
        }
    }
}

impl FieldPlanner<'_> {
    fn is_query(&self) -> bool {
        self.parent.is_none()
    }

    fn out(&self, ty: &Type) -> Out {
        match &ty.base {
            BaseType::Named(name) if self.objects.contains_key(name.as_str()) => Out::Object,
            BaseType::Named(name) => Out::Scalar(name.to_string()),
            BaseType::List(inner) => Out::List(Box::new(self.out(inner))),
        }
    }

    /// The field's plan and, when it holds objects, their type and shape.
    #[allow(clippy::type_complexity)]
    fn plan(
        &self,
        field: &Positioned<FieldDefinition>,
    ) -> Result<(FieldPlan, Option<(String, Shape)>), Issue> {
        let f = &field.node;
        let name = f.name.node.to_string();
        let full = format!("{}.{name}", self.type_name);
        if name.starts_with("__") {
            return Err(Issue::at(
                f.name.pos,
                format!("field names starting with `__` are reserved (`{full}`)"),
            ));
        }
        if self.is_query() && name == "_meta" {
            return Err(Issue::at(
                f.name.pos,
                "`Query._meta` is built in (the token's block, status and state hash) and cannot be redefined",
            ));
        }
        let mut args = Vec::new();
        for arg in &f.arguments {
            let a = &arg.node;
            let (base, _) = unwrap(&a.ty.node);
            if !SCALARS.contains(&base.as_str()) {
                return Err(Issue::at(
                    a.ty.pos,
                    format!(
                        "argument `{}` of `{full}` must be a scalar ({}), not `{base}`",
                        a.name.node,
                        SCALARS.join(", ")
                    ),
                ));
            }
            if let Some(d) = a.directives.first() {
                return Err(Issue::at(
                    d.pos,
                    "directives on arguments are not supported",
                ));
            }
            args.push(ArgPlan {
                name: a.name.node.to_string(),
                ty: a.ty.node.clone(),
                default: a.default_value.as_ref().map(|v| v.node.clone()),
                description: a.description.as_ref().map(|d| d.node.clone()),
            });
        }
        let (base, depth) = unwrap(&f.ty.node);
        if !SCALARS.contains(&base.as_str()) && !self.objects.contains_key(base.as_str()) {
            return Err(Issue::at(
                f.ty.pos,
                format!("`{full}`: unknown type `{base}`"),
            ));
        }
        let (source, slot) = self.source(field, &full, &args, depth)?;
        let target = self.check_type(field, &full, slot, base, depth)?;
        if let Source::Key(_) = source {
            if let Some(arg) = args.first() {
                return Err(Issue::at(
                    f.name.pos,
                    format!(
                        "`{full}` reads its parent and takes no arguments (`{}`)",
                        arg.name
                    ),
                ));
            }
        }
        Ok((
            FieldPlan {
                name,
                description: f.description.as_ref().map(|d| d.node.clone()),
                ty: f.ty.node.clone(),
                out: self.out(&f.ty.node),
                args,
                source,
            },
            target,
        ))
    }

    /// Checks the declared type holds `slot`; answers the object type fed.
    fn check_type(
        &self,
        field: &Positioned<FieldDefinition>,
        full: &str,
        slot: Slot,
        base: &Name,
        depth: usize,
    ) -> Result<Option<(String, Shape)>, Issue> {
        let pos = field.node.ty.pos;
        let is_object = self.objects.contains_key(base.as_str());
        let declared = &field.node.ty.node;
        match slot {
            Slot::Scalar if depth == 0 && !is_object => Ok(None),
            Slot::Scalar => Err(Issue::at(
                pos,
                format!("`{full}` holds a single value: its type must be a scalar, not `{declared}`"),
            )),
            Slot::Object(shape) if depth == 0 && is_object => Ok(Some((base.to_string(), shape))),
            Slot::Object(shape) => Err(Issue::at(
                pos,
                format!("`{full}` holds one {}: its type must be an object type, not `{declared}`", shape.name()),
            )),
            Slot::List(shape) if depth == 1 && is_object => Ok(Some((base.to_string(), shape))),
            Slot::List(shape) => Err(Issue::at(
                pos,
                format!("`{full}` holds a list of {}s: its type must be a list of an object type, not `{declared}`", shape.name()),
            )),
        }
    }

    /// Where the field's value comes from and what it holds.
    fn source(
        &self,
        field: &Positioned<FieldDefinition>,
        full: &str,
        args: &[ArgPlan],
        depth: usize,
    ) -> Result<(Source, Slot), Issue> {
        let f = &field.node;
        let mut binding: Option<&Positioned<ConstDirective>> = None;
        let mut from: Option<&Positioned<ConstDirective>> = None;
        for d in &f.directives {
            let dname = d.node.name.node.as_str();
            if dname == "from" {
                from = Some(d);
            } else if BindKind::from_name(dname).is_some() {
                if binding.is_some() {
                    return Err(Issue::at(
                        d.pos,
                        format!("`{full}` has more than one binding directive"),
                    ));
                }
                binding = Some(d);
            } else {
                return Err(Issue::at(
                    d.pos,
                    format!("unknown directive `@{dname}` on `{full}` (known: {DIRECTIVES})"),
                ));
            }
        }
        if binding.is_some() && from.is_some() {
            return Err(Issue::at(
                f.name.pos,
                format!("`{full}` has both a binding and `@from`"),
            ));
        }
        if let Some(d) = binding {
            return self.binding(d, full, args, depth);
        }
        let Some(parent) = self.parent else {
            return Err(Issue::at(
                f.name.pos,
                format!("`{full}` has no binding: every Query field needs one of {DIRECTIVES}"),
            ));
        };
        let key = match from {
            Some(d) => match d.node.arguments.as_slice() {
                [(n, v)] if n.node == "key" => match &v.node {
                    Value::String(key) => key.clone(),
                    _ => return Err(Issue::at(v.pos, "`@from(key:)` takes a string")),
                },
                _ => {
                    return Err(Issue::at(
                        d.pos,
                        "`@from` takes exactly one argument, `key`",
                    ))
                }
            },
            None => f.name.node.to_string(),
        };
        let slot = parent.slot(&key).ok_or_else(|| {
            Issue::at(
                from.map_or(f.name.pos, |d| d.pos),
                format!(
                    "`{full}`: {} has no `{key}` (it has {}); rename the field or map it with @from(key: \"...\")",
                    parent.a_name(),
                    parent.key_list()
                ),
            )
        })?;
        Ok((Source::Key(key), slot))
    }

    fn binding(
        &self,
        d: &Positioned<ConstDirective>,
        full: &str,
        args: &[ArgPlan],
        depth: usize,
    ) -> Result<(Source, Slot), Issue> {
        let dname = d.node.name.node.as_str();
        let connection = depth == 0;
        let mut kind = BindKind::from_name(dname)
            .ok_or_else(|| Issue::at(d.pos, format!("unknown directive `@{dname}`")))?;
        if kind.is_list() && !self.is_query() {
            return Err(Issue::at(
                d.pos,
                format!("`@{dname}` reads a list and is only allowed on Query fields (`{full}`)"),
            ));
        }
        let mut inputs = BTreeMap::new();
        for (arg_name, value) in &d.node.arguments {
            let key = arg_name.node.as_str();
            if let BindKind::State(path) = &mut kind {
                match (key, &value.node) {
                    ("path", Value::String(p)) => {
                        *path = p.clone();
                        continue;
                    }
                    _ => {
                        return Err(Issue::at(
                            arg_name.pos,
                            "`@state` takes one argument, `path: \"token.name\"`",
                        ))
                    }
                }
            }
            let Some(&(param, _)) = kind.params().iter().find(|(p, _)| *p == key) else {
                let known: Vec<&str> = kind.params().iter().map(|(p, _)| *p).collect();
                return Err(Issue::at(
                    arg_name.pos,
                    format!(
                        "`@{dname}` has no argument `{key}` (it takes {})",
                        if known.is_empty() {
                            "none".to_string()
                        } else {
                            known.join(", ")
                        }
                    ),
                ));
            };
            let input = match &value.node {
                Value::String(reference) => {
                    if args.iter().any(|a| a.name == *reference) {
                        Input::Arg(reference.clone())
                    } else if self
                        .parent
                        .is_some_and(|p| p.slot(reference) == Some(Slot::Scalar))
                    {
                        Input::Parent(reference.clone())
                    } else {
                        return Err(Issue::at(
                            value.pos,
                            format!(
                                "`@{dname}({key}: \"{reference}\")` on `{full}`: `{reference}` is not an argument of the field{}",
                                if self.is_query() { "" } else { " nor a field of its parent" }
                            ),
                        ));
                    }
                }
                other => Input::Literal(other.clone()),
            };
            inputs.insert(param, input);
        }
        for (param, required) in kind.params() {
            if inputs.contains_key(param) {
                continue;
            }
            if args.iter().any(|a| a.name == *param) {
                inputs.insert(param, Input::Arg((*param).to_string()));
            } else if *required {
                return Err(Issue::at(
                    d.pos,
                    format!(
                        "`@{dname}` on `{full}` needs `{param}`: add an argument `{param}` or write @{dname}({param}: \"<argument>\")"
                    ),
                ));
            }
        }
        for arg in args {
            let used = inputs
                .values()
                .any(|i| matches!(i, Input::Arg(a) if *a == arg.name));
            if !used {
                return Err(Issue::at(
                    d.pos,
                    format!(
                        "argument `{}` of `{full}` is not used by `@{dname}`",
                        arg.name
                    ),
                ));
            }
        }
        let slot = match &kind {
            BindKind::Account => Slot::Object(Shape::Account),
            BindKind::Stats => Slot::Object(Shape::Stats),
            BindKind::Meta => Slot::Object(Shape::Meta),
            BindKind::Token => Slot::Object(Shape::Token),
            BindKind::Ops => Slot::List(Shape::Op),
            BindKind::Richlist if connection => Slot::Object(Shape::AccountPage),
            BindKind::Richlist => Slot::List(Shape::Account),
            BindKind::Transfers if connection => Slot::Object(Shape::TransferPage),
            BindKind::Transfers => Slot::List(Shape::Transfer),
            BindKind::State(path) => {
                if path.is_empty() {
                    return Err(Issue::at(
                        d.pos,
                        "`@state` needs `path`, e.g. @state(path: \"token.name\")",
                    ));
                }
                follow_path(path)
                    .map_err(|e| Issue::at(d.pos, format!("`@state(path:)` on `{full}`: {e}")))?
            }
        };
        Ok((
            Source::Bind(Binding {
                kind,
                inputs,
                connection,
            }),
            slot,
        ))
    }
}
