//! Validation of BYO SDL: the messages users see, with line and column.

use super::compile;
use super::plan::{plan, Issue};
use super::shapes::{Shape, Slot};

fn issues(sdl: &str) -> Vec<Issue> {
    plan(sdl).expect_err("the SDL should be refused")
}

fn first(sdl: &str) -> (usize, usize, String) {
    let i = issues(sdl).remove(0);
    (i.line, i.column, i.message)
}

#[test]
fn syntax_errors_have_line_and_column() {
    let (line, column, message) = first("type Query {\n  a: String @stats\n  b: \n}\n");
    assert_eq!((line, column), (4, 1), "{message}");
    assert!(message.starts_with("syntax error"), "{message}");
}

#[test]
fn a_query_type_is_required() {
    let (line, column, message) = first("type Holder { account: String }");
    assert_eq!((line, column), (1, 1));
    assert!(message.contains("`Query`"), "{message}");
}

#[test]
fn built_in_names_cannot_be_redefined() {
    let sdl = "type Query { _meta: String @stats }\ntype String { a: Int }\n";
    let all = issues(sdl);
    assert!(
        all[0].message.contains("`Query._meta` is built in"),
        "{all:?}"
    );
    assert_eq!((all[0].line, all[0].column), (1, 14));
    assert!(all[1].message.contains("built-in scalar"), "{all:?}");
    assert_eq!(all[1].line, 2);
    for sdl in [
        "type Query { a: _Meta @meta }\ntype _Meta { status: String }",
        "type Query { __a: String @stats }",
        "directive @account(name: String) on FIELD_DEFINITION\ntype Query { a: String @state(path: \"token.name\") }",
        "schema { query: Query }\ntype Query { a: String @state(path: \"token.name\") }",
    ] {
        assert!(!issues(sdl).is_empty(), "{sdl}");
    }
}

#[test]
fn unknown_types_directives_and_keys_are_named() {
    let (line, _, message) = first("type Query {\n  a: Foo @stats\n}");
    assert_eq!(line, 2);
    assert!(message.contains("unknown type `Foo`"), "{message}");

    let (_, _, message) = first("type Query { a: String @balance }");
    assert!(
        message.contains("unknown directive `@balance`"),
        "{message}"
    );

    let (line, _, message) = first(
        "type Query { holder(name: String!): Holder @account }\ntype Holder {\n  balanc: String\n}",
    );
    assert_eq!(line, 3);
    assert!(message.contains("an account has no `balanc`"), "{message}");
    assert!(message.contains("balanceRaw"), "{message}");
}

#[test]
fn query_fields_need_a_binding_with_its_inputs() {
    let (_, _, message) = first("type Query { a: String }");
    assert!(message.contains("has no binding"), "{message}");
    let (_, _, message) =
        first("type Query { a: Holder @account }\ntype Holder { account: String }");
    assert!(message.contains("needs `name`"), "{message}");
    let (_, _, message) =
        first("type Query { a(who: String!, x: Int): Holder @account(name: \"who\") }\ntype Holder { account: String }");
    assert!(message.contains("argument `x`"), "{message}");
    let (_, _, message) = first("type Query { a(n: String!): Holder @account(name: \"m\") }\ntype Holder { account: String }");
    assert!(message.contains("`m` is not an argument"), "{message}");
}

#[test]
fn declared_types_must_fit_the_binding() {
    let (_, _, message) = first("type Query { a: [H!]! @stats }\ntype H { holders: Int }");
    assert!(message.contains("must be an object type"), "{message}");
    let (_, _, message) = first("type Query { a: H @stats }\ntype H { holders: H }");
    assert!(message.contains("must be a scalar"), "{message}");
    let (_, _, message) =
        first("type Query { a: H @stats\n b(name: String!): H @account }\ntype H { holders: Int }");
    assert!(message.contains("both a stats and an account"), "{message}");
    let (_, _, message) =
        first("type Query { a: String @state(path: \"stats.supply\") }\ntype Orphan { a: Int }");
    assert!(message.contains("not reachable"), "{message}");
}

#[test]
fn state_paths_are_checked() {
    assert!(
        plan("type Query { staking: Boolean @state(path: \"token.features.staking\") }").is_ok()
    );
    let (_, _, message) = first("type Query { a: String @state(path: \"token.colour\") }");
    assert!(message.contains("a token has no `colour`"), "{message}");
}

#[test]
fn list_bindings_only_on_query() {
    let (_, _, message) = first(
        "type Query { s: S @stats }\ntype S { top(first: Int): [A!]! @richlist }\ntype A { account: String }",
    );
    assert!(message.contains("only allowed on Query"), "{message}");
}

#[test]
fn a_valid_schema_compiles_with_meta() {
    let schema = compile(
        "type Query { top(first: Int = 10): [A!]! @richlist\n page(first: Int, after: String): P! @transfers }\n\
         type A { account: String!\n raw: Int @from(key: \"balanceRaw\") }\n\
         type P { nodes: [T!]!\n pageInfo: I! }\ntype T { trxId: ID! }\ntype I { hasNextPage: Boolean! endCursor: String }",
    )
    .unwrap();
    let sdl = schema.sdl();
    assert!(sdl.contains("_meta: _Meta!"), "{sdl}");
    assert!(
        sdl.contains("top(first: Int! = 10)") || sdl.contains("top(first: Int = 10)"),
        "{sdl}"
    );
}

#[test]
fn shapes_match_the_views() {
    // The keys BYO types may read are exactly those the reads produce.
    let account = serde_json::to_value(crate::views::AccountView::new(
        "alice",
        &state::projection::AccountState::default(),
        3,
        None,
    ))
    .unwrap();
    let mut keys: Vec<&str> = account
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    let mut want: Vec<&str> = Shape::Account.keys().iter().map(|(k, _)| *k).collect();
    want.sort_unstable();
    assert_eq!(keys, want);
    assert_eq!(Shape::Meta.slot("block"), Some(Slot::Object(Shape::Block)));
}
