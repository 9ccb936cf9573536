//! "Checked in one place, so no new tool can forget it": every tool opens its transactions with
//! `Ctx::begin(caller)`, which carries the caller's scope to the database. A tool that opened one
//! with `Db::begin(&Tenant)` directly would drop a triage job's scope; this fails if one does.

#[test]
fn no_tool_opens_a_transaction_but_through_the_callers_scope() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/tools");
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).expect("src/tools") {
        let path = entry.expect("entry").path();
        if path.file_name().is_some_and(|n| n == "ctx.rs") {
            continue;
        }
        let source = std::fs::read_to_string(&path).expect("read");
        for (n, line) in source.lines().enumerate() {
            let opens = line.contains(".begin(&") || line.contains("begin_for_customer(");
            assert!(
                !opens,
                "{}:{}: open transactions with ctx.begin(caller): {line}",
                path.display(),
                n + 1
            );
        }
        checked += usize::from(source.contains("ctx.begin(caller)"));
    }
    assert!(
        checked >= 5,
        "the tools that read records use ctx.begin ({checked})"
    );
}
