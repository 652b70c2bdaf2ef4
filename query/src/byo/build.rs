//! Building the `async_graphql::dynamic::Schema` of a validated [`Plan`]:
//! one dynamic object per SDL type, each field resolved from its parent's
//! JSON or by its binding, plus the built-in `_meta`.

use std::sync::Arc;

use async_graphql::dynamic::{
    Field, FieldFuture, FieldValue, InputValue, Object, ResolverContext, Schema, TypeRef,
};
use async_graphql::parser::types::{BaseType, Type};
use async_graphql::{Number, Value};
use serde_json::Value as Json;

use crate::byo::fetch::{fetch, meta};
use crate::byo::plan::{FieldPlan, Out, Plan, Source};
use crate::byo::{gql_error, GqlResult, MAX_COMPLEXITY, MAX_DEPTH};
use crate::context::open_projection;
use crate::error::ApiError;

fn type_ref(ty: &Type) -> TypeRef {
    let inner = match &ty.base {
        BaseType::Named(name) => TypeRef::Named(name.to_string().into()),
        BaseType::List(inner) => TypeRef::List(Box::new(type_ref(inner))),
    };
    if ty.nullable {
        inner
    } else {
        TypeRef::NonNull(Box::new(inner))
    }
}

fn mismatch(value: &Json, scalar: &str) -> async_graphql::Error {
    gql_error(ApiError::internal(format!(
        "the value {value} does not fit the declared type `{scalar}`"
    )))
}

/// A JSON value as a GraphQL scalar of the declared type. Raw amounts are
/// decimal strings; declaring them `Int` or `Float` converts them.
fn scalar(value: Json, scalar: &str) -> GqlResult<Value> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    match scalar {
        "String" | "ID" => Ok(Value::String(match value {
            Json::String(s) => s,
            other => other.to_string(),
        })),
        "Boolean" => match value {
            Json::Bool(b) => Ok(Value::Boolean(b)),
            other => Err(mismatch(&other, scalar)),
        },
        "Int" => {
            let n = match &value {
                Json::Number(n) => n.as_i64(),
                Json::String(s) => s.parse::<i64>().ok(),
                _ => None,
            };
            n.map(|n| Value::Number(n.into()))
                .ok_or_else(|| mismatch(&value, scalar))
        }
        "Float" => {
            let f = match &value {
                Json::Number(n) => n.as_f64(),
                Json::String(s) => s.parse::<f64>().ok(),
                _ => None,
            };
            f.and_then(Number::from_f64)
                .map(Value::Number)
                .ok_or_else(|| mismatch(&value, scalar))
        }
        _ => Err(mismatch(&value, scalar)),
    }
}

/// The JSON as the field's declared output.
fn field_value<'a>(value: Json, out: &Out) -> GqlResult<Option<FieldValue<'a>>> {
    if value.is_null() {
        return Ok(None);
    }
    match out {
        Out::Scalar(name) => Ok(Some(FieldValue::value(scalar(value, name)?))),
        Out::Object => Ok(Some(FieldValue::owned_any(value))),
        Out::List(inner) => {
            let Json::Array(items) = value else {
                return Err(gql_error(ApiError::internal("expected a list")));
            };
            let mut list = Vec::with_capacity(items.len());
            for item in items {
                list.push(field_value(item, inner)?.unwrap_or(FieldValue::NULL));
            }
            Ok(Some(FieldValue::list(list)))
        }
    }
}

async fn resolve<'a>(
    plan: Arc<FieldPlan>,
    ctx: ResolverContext<'a>,
) -> GqlResult<Option<FieldValue<'a>>> {
    let parent = ctx.parent_value.downcast_ref::<Json>();
    let value = match &plan.source {
        Source::Key(key) => parent
            .and_then(|p| p.get(key))
            .cloned()
            .unwrap_or(Json::Null),
        Source::Bind(binding) => fetch(binding, &ctx, parent).await?,
    };
    field_value(value, &plan.out)
}

fn field(plan: FieldPlan) -> Field {
    let plan = Arc::new(plan);
    let ty = type_ref(&plan.ty);
    let mut field = Field::new(plan.name.clone(), ty, {
        let plan = plan.clone();
        move |ctx| {
            let plan = plan.clone();
            FieldFuture::new(resolve(plan, ctx))
        }
    });
    if let Some(d) = &plan.description {
        field = field.description(d.clone());
    }
    for arg in &plan.args {
        let mut input = InputValue::new(arg.name.clone(), type_ref(&arg.ty));
        if let Some(default) = &arg.default {
            input = input.default_value(default.clone());
        }
        if let Some(d) = &arg.description {
            input = input.description(d.clone());
        }
        field = field.argument(input);
    }
    field
}

/// `_meta` and its types, the same fields as the built-in schema's `Meta`.
fn meta_types() -> (Field, Object, Object) {
    let key = |name: &'static str, ty: TypeRef| {
        Field::new(name, ty, move |ctx| {
            FieldFuture::new(async move {
                let value = ctx
                    .parent_value
                    .downcast_ref::<Json>()
                    .and_then(|p| p.get(name))
                    .cloned()
                    .unwrap_or(Json::Null);
                let out = match &value {
                    Json::Object(_) => Out::Object,
                    Json::Number(_) => Out::Scalar("Int".into()),
                    _ => Out::Scalar("String".into()),
                };
                field_value(value, &out)
            })
        })
    };
    let block = Object::new("_Block")
        .description("A block reference.")
        .field(key("number", TypeRef::named_nn(TypeRef::INT)))
        .field(key("hash", TypeRef::named_nn(TypeRef::STRING)))
        .field(key("timestamp", TypeRef::named_nn(TypeRef::STRING)));
    let meta_type = Object::new("_Meta")
        .description("Where the token's projection stands.")
        .field(key("block", TypeRef::named("_Block")))
        .field(key("irreversibleBlock", TypeRef::named_nn(TypeRef::INT)))
        .field(key("targetBlock", TypeRef::named_nn(TypeRef::INT)))
        .field(key("stateHash", TypeRef::named_nn(TypeRef::STRING)))
        .field(key("logLength", TypeRef::named_nn(TypeRef::INT)))
        .field(key("status", TypeRef::named_nn(TypeRef::STRING)))
        .field(key("error", TypeRef::named(TypeRef::STRING)))
        .field(key("earliestBlock", TypeRef::named_nn(TypeRef::INT)));
    let field = Field::new("_meta", TypeRef::named_nn("_Meta"), |ctx| {
        FieldFuture::new(async move {
            let entry = ctx.data::<Arc<state::TokenEntry>>()?.clone();
            let projection = open_projection(&entry).map_err(gql_error)?;
            Ok(Some(FieldValue::owned_any(meta(&entry, &projection)?)))
        })
    })
    .description("Where the token's projection stands (graph-node's `_meta`).");
    (field, meta_type, block)
}

/// The executable schema of a plan.
pub(crate) fn build(plan: Plan) -> Result<Schema, String> {
    let (meta_field, meta_type, block_type) = meta_types();
    let mut meta_field = Some(meta_field);
    let mut builder = Schema::build("Query", None, None)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
        .register(meta_type)
        .register(block_type);
    for ty in plan.types {
        let mut object = Object::new(ty.name.clone());
        if let Some(d) = ty.description {
            object = object.description(d);
        }
        if ty.name == "Query" {
            if let Some(meta) = meta_field.take() {
                object = object.field(meta);
            }
        }
        for f in ty.fields {
            object = object.field(field(f));
        }
        builder = builder.register(object);
    }
    builder.finish().map_err(|e| e.to_string())
}
