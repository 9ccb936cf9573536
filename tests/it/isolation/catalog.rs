//! R1, R2, R4, R6 and D1 read off the catalog: a new table, view or function that breaks them
//! fails here.

use crate::common::TestDb;

const POLICY_EXPR: &str =
    "NULLIF(current_setting('app.current_user_id'::text, true), ''::text))::uuid";
/// How a customer-owned table's policy admits the tenant's every row when no customer scope is set.
const SCOPE_UNSET: &str =
    "(NULLIF(current_setting('app.scope_customer_id'::text, true), ''::text) IS NULL)";
const SCOPE_EXPR: &str =
    "(NULLIF(current_setting('app.scope_customer_id'::text, true), ''::text))::uuid";

/// (policy name, command, permissive, USING, WITH CHECK) of the policies on `table` that apply
/// to the service role (directly or through PUBLIC).
type Policy = (String, String, String, Option<String>, Option<String>);

async fn service_policies(t: &TestDb, table: &str) -> Vec<Policy> {
    sqlx::query_as(
        "SELECT policyname, cmd, permissive, qual, with_check FROM pg_policies \
         WHERE schemaname = 'public' AND tablename = $1 \
           AND ('public' = ANY(roles) OR 'support_agent_app' = ANY(roles)) \
         ORDER BY policyname",
    )
    .bind(table)
    .fetch_all(&t.owner)
    .await
    .expect("policies")
}

#[tokio::test]
async fn every_tenant_table_forces_row_level_security_with_one_checked_policy() {
    let t = TestDb::new().await;
    // Every table in public but sqlx's bookkeeping is a tenant table: it has user_id (or is users).
    let tables: Vec<(String, bool, bool, bool)> = sqlx::query_as(
        "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, \
                EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid \
                        AND a.attname = 'user_id' AND NOT a.attisdropped) \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relname <> '_sqlx_migrations'",
    )
    .fetch_all(&t.owner)
    .await
    .expect("catalog");
    assert!(tables.len() >= 4, "{tables:?}");
    for (table, enabled, forced, has_user_id) in &tables {
        assert!(
            *has_user_id || table == "users",
            "{table} has no user_id column"
        );
        assert!(
            *enabled && *forced,
            "{table}: RLS enabled={enabled} forced={forced}"
        );
        let policies = service_policies(&t, table).await;
        let permissive: Vec<_> = policies.iter().filter(|p| p.2 == "PERMISSIVE").collect();
        assert_eq!(
            permissive.len(),
            1,
            "{table}: exactly one permissive policy applies to the service role: {policies:?}"
        );
        let (name, cmd, _, qual, check) = permissive[0];
        assert_eq!(cmd, "ALL", "{table}.{name} covers every command");
        let column = if table == "users" { "id" } else { "user_id" };
        for (what, expr) in [("USING", qual), ("WITH CHECK", check)] {
            let expr = expr
                .as_deref()
                .unwrap_or_else(|| panic!("{table}.{name} lacks {what}"));
            assert!(
                expr.contains(column) && expr.contains(POLICY_EXPR),
                "{table}.{name} {what} reads the tenant context with NULLIF: {expr}"
            );
        }
    }
}

/// D1: a table is customer-owned when its rows belong to a customer or to a ticket (it has
/// `customer_id` or `ticket_id`, or is `customers`). The one policy of each (tenant_isolation)
/// also reads the customer scope: with none set it admits the tenant's every row, else the
/// scoped customer's only. No table has a restrictive policy: Citus copies one to its shards as a
/// permissive one, which would admit every tenant's rows (migrations/20261216000010_citus.sql).
#[tokio::test]
async fn every_customer_owned_tables_policy_reads_the_customer_scope_and_none_is_restrictive() {
    let t = TestDb::new().await;
    let tables: Vec<(String, bool)> = sqlx::query_as(
        "SELECT c.relname, c.relname = 'customers' OR EXISTS (SELECT 1 FROM pg_attribute a \
                WHERE a.attrelid = c.oid AND a.attname IN ('customer_id', 'ticket_id') \
                  AND NOT a.attisdropped) \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relname <> '_sqlx_migrations'",
    )
    .fetch_all(&t.owner)
    .await
    .expect("catalog");
    let owned: Vec<&str> = tables
        .iter()
        .filter(|(_, owned)| *owned)
        .map(|(name, _)| name.as_str())
        .collect();
    for expected in ["customers", "tickets", "messages", "jobs"] {
        assert!(
            owned.contains(&expected),
            "{expected} is customer-owned: {owned:?}"
        );
    }
    for (table, customer_owned) in &tables {
        let policies = service_policies(&t, table).await;
        let restrictive: Vec<_> = policies.iter().filter(|p| p.2 == "RESTRICTIVE").collect();
        assert!(restrictive.is_empty(), "{table}: {restrictive:?}");
        if !customer_owned {
            continue;
        }
        assert_eq!(policies.len(), 1, "{table}: {policies:?}");
        let (name, cmd, _, qual, check) = &policies[0];
        assert_eq!(
            (name.as_str(), cmd.as_str()),
            ("tenant_isolation", "ALL"),
            "{table}"
        );
        let scoped = match table.as_str() {
            "customers" => "(id = ",
            "tickets" => "(customer_id = ",
            _ => "(scope_ticket_customer(user_id, ticket_id) = ",
        };
        for (what, expr) in [("USING", qual), ("WITH CHECK", check)] {
            let expr = expr
                .as_deref()
                .unwrap_or_else(|| panic!("{table}.{name} lacks {what}"));
            assert!(
                expr.contains(&format!("({SCOPE_UNSET} OR "))
                    && expr.contains(&format!("{scoped}{SCOPE_EXPR}")),
                "{table}.{name} {what} admits the tenant's all without a scope, else the scoped \
                 customer's rows: {expr}"
            );
        }
    }
}

#[tokio::test]
async fn the_service_role_cannot_bypass_row_level_security_and_owns_nothing() {
    let t = TestDb::new().await;
    let (superuser, bypass, createrole): (bool, bool, bool) = sqlx::query_as(
        "SELECT rolsuper, rolbypassrls, rolcreaterole FROM pg_roles WHERE rolname = current_user",
    )
    .fetch_one(t.db.pool())
    .await
    .expect("role");
    assert!(
        !superuser && !bypass && !createrole,
        "service role: super={superuser} bypassrls={bypass}"
    );
    let owned: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = 'public' AND c.relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)",
    )
    .fetch_one(t.db.pool())
    .await
    .expect("owned");
    assert_eq!(owned, 0, "the service role owns no relation");
    let can_create: bool = sqlx::query_scalar("SELECT has_schema_privilege('public', 'CREATE')")
        .fetch_one(t.db.pool())
        .await
        .expect("privilege");
    assert!(!can_create, "the service role cannot create objects");
    // The owner role is no superuser either: FORCE applies to it.
    let owner_super: bool = sqlx::query_scalar(
        "SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user",
    )
    .fetch_one(&t.owner)
    .await
    .expect("owner role");
    assert!(!owner_super);
}

#[tokio::test]
async fn views_are_security_invoker_and_definer_functions_pin_their_search_path() {
    let t = TestDb::new().await;
    let loose_views: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = 'public' AND c.relkind IN ('v', 'm') \
           AND NOT coalesce('security_invoker=true' = ANY(c.reloptions), false)",
    )
    .fetch_all(&t.owner)
    .await
    .expect("views");
    assert!(
        loose_views.is_empty(),
        "views without security_invoker: {loose_views:?}"
    );
    // D4: exactly `pg_catalog, pg_temp`, so that no schema the caller controls and no temporary
    // table comes before the catalog; tables are then written `public.…`.
    let definers: Vec<(String, Option<Vec<String>>)> = sqlx::query_as(
        "SELECT p.proname, p.proconfig FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
         WHERE n.nspname = 'public' AND p.prosecdef",
    )
    .fetch_all(&t.owner)
    .await
    .expect("functions");
    assert!(
        definers.iter().any(|(name, _)| name == "due_tenants"),
        "{definers:?}"
    );
    for (name, config) in &definers {
        let config = config.clone().unwrap_or_default();
        assert!(
            config
                .iter()
                .any(|c| c == "search_path=pg_catalog, pg_temp"),
            "SECURITY DEFINER {name} must pin search_path = pg_catalog, pg_temp: {config:?}"
        );
    }
}

#[tokio::test]
async fn nobody_but_the_owner_may_create_temporary_tables() {
    let t = TestDb::new().await;
    let (app, public): (bool, bool) = sqlx::query_as(
        "SELECT has_database_privilege('support_agent_app', current_database(), 'TEMP'), \
                has_database_privilege('public', current_database(), 'TEMP')",
    )
    .fetch_one(&t.owner)
    .await
    .expect("privileges");
    assert!(!app && !public, "TEMP: service role {app}, PUBLIC {public}");
    let err = sqlx::query("CREATE TEMP TABLE jobs (id uuid)")
        .execute(t.db.pool())
        .await
        .expect_err("the service role cannot create a temporary table");
    assert!(err.to_string().contains("permission denied"), "{err}");
}

#[tokio::test]
async fn without_a_tenant_context_the_service_role_sees_nothing() {
    let t = TestDb::new().await;
    let a = crate::common::new_tenant(&t.db, "Acme").await;
    let c = crate::common::new_customer(&t.db, &a, "Bob", "bob@example.com").await;
    crate::common::new_ticket(&t.db, &a, c.id, "help").await;
    for table in ["users", "customers", "tickets"] {
        let n: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
                .fetch_one(t.db.pool())
                .await
                .expect("count");
        assert_eq!(n, 0, "{table} without context");
        assert_eq!(t.count(table).await, 1, "{table} has the row");
    }
    // After COMMIT the setting reads '' (R4): the NULLIF keeps that from raising.
    let mut conn = t.db.pool().acquire().await.expect("conn");
    sqlx::raw_sql(
        "BEGIN; SET LOCAL app.current_user_id = '00000000-0000-0000-0000-000000000001'; COMMIT",
    )
    .execute(&mut *conn)
    .await
    .expect("set and commit");
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM customers")
        .fetch_one(&mut *conn)
        .await
        .expect("no error after commit");
    assert_eq!(n, 0);
}
