//! R7 as a property: whatever sequence of store calls three tenants make, with ids picked from
//! every tenant's rows, every row a store function returns belongs to the calling tenant, and
//! another tenant's id is indistinguishable from one that never existed.

use proptest::prelude::*;
use support_agent::customers::{self, CustomerUpdate, NewCustomer};
use support_agent::messages::{self, Sender};
use support_agent::tickets::{self, NewTicket, Priority, Status, TicketFilter};
use support_agent::validate::Phone;
use support_agent::{StoreError, Tenant, TenantTx, users};
use uuid::Uuid;

use crate::common::{TestDb, new_tenant};

#[derive(Debug, Clone)]
enum Op {
    CreateCustomer(String),
    CreateTicket { customer: usize },
    AddMessage { ticket: usize },
    GetCustomer(usize),
    SearchCustomers(String),
    ListCustomers,
    UpdateCustomer(usize),
    GetThread(usize),
    ListTickets { status: Option<Status> },
    UpdateTicket(usize),
    FindUser,
}

fn op() -> impl Strategy<Value = Op> {
    let idx = 0usize..64;
    prop_oneof![
        "[a-z]{1,8}".prop_map(Op::CreateCustomer),
        idx.clone()
            .prop_map(|customer| Op::CreateTicket { customer }),
        idx.clone().prop_map(|ticket| Op::AddMessage { ticket }),
        idx.clone().prop_map(Op::GetCustomer),
        "[a-z@.]{1,4}".prop_map(Op::SearchCustomers),
        Just(Op::ListCustomers),
        idx.clone().prop_map(Op::UpdateCustomer),
        idx.clone().prop_map(Op::GetThread),
        prop::option::of(prop_oneof![Just(Status::Open), Just(Status::Solved)])
            .prop_map(|status| Op::ListTickets { status }),
        idx.prop_map(Op::UpdateTicket),
        Just(Op::FindUser),
    ]
}

/// Every id created so far, with its owner.
#[derive(Default)]
struct Ids {
    customers: Vec<(Uuid, Uuid)>,
    tickets: Vec<(Uuid, Uuid)>,
}

fn pick(list: &[(Uuid, Uuid)], i: usize) -> Option<(Uuid, Uuid)> {
    (!list.is_empty()).then(|| list[i % list.len()])
}

/// Ok(true) when the row is the caller's; a NotFound must mean the id is someone else's.
fn owned<T>(
    r: Result<T, StoreError>,
    owner: Uuid,
    me: Uuid,
    user_of: impl Fn(&T) -> Uuid,
) -> Result<(), TestCaseError> {
    match r {
        Ok(row) => prop_assert_eq!(user_of(&row), me),
        Err(StoreError::NotFound(_)) => prop_assert_ne!(owner, me, "own row reported missing"),
        Err(e) => return Err(TestCaseError::fail(format!("unexpected {e}"))),
    }
    Ok(())
}

async fn apply(tx: &mut TenantTx, op: &Op, ids: &mut Ids, n: usize) -> Result<(), TestCaseError> {
    let me = tx.user_id();
    match op {
        Op::CreateCustomer(name) => {
            let email = format!("{name}{n}@example.com");
            let c = customers::store::create(
                tx,
                &NewCustomer {
                    name,
                    email: &email,
                    ..Default::default()
                },
            )
            .await;
            let c = c.map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(c.user_id, me);
            ids.customers.push((c.id, me));
        }
        Op::CreateTicket { customer } => {
            if let Some((id, owner)) = pick(&ids.customers, *customer) {
                let new = NewTicket {
                    customer_id: id,
                    subject: "s",
                    description: None,
                    priority: Some(Priority::High),
                };
                let r = tickets::store::create(tx, &new).await;
                if let Ok(t) = &r {
                    ids.tickets.push((t.id, me));
                }
                owned(r, owner, me, |t| t.user_id)?;
            }
        }
        Op::AddMessage { ticket } => {
            if let Some((id, owner)) = pick(&ids.tickets, *ticket) {
                owned(
                    messages::store::add(tx, id, Sender::Customer, "m").await,
                    owner,
                    me,
                    |m| m.user_id,
                )?;
            }
        }
        Op::GetCustomer(i) => {
            if let Some((id, owner)) = pick(&ids.customers, *i) {
                owned(customers::store::get(tx, id).await, owner, me, |c| {
                    c.user_id
                })?;
            }
        }
        Op::UpdateCustomer(i) => {
            if let Some((id, owner)) = pick(&ids.customers, *i) {
                let change = CustomerUpdate {
                    phone: Some(Phone::parse("phone", "555 0100").expect("phone")),
                    ..Default::default()
                };
                owned(
                    customers::store::update(tx, id, &change).await,
                    owner,
                    me,
                    |c| c.user_id,
                )?;
            }
        }
        Op::SearchCustomers(q) => {
            for c in customers::store::search(tx, q, 100)
                .await
                .map_err(|e| TestCaseError::fail(e.to_string()))?
            {
                prop_assert_eq!(c.customer.user_id, me);
            }
        }
        Op::ListCustomers => {
            let (rows, _) = customers::store::list(tx, 100, None)
                .await
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert!(rows.iter().all(|c| c.user_id == me));
        }
        Op::GetThread(i) => {
            if let Some((id, owner)) = pick(&ids.tickets, *i) {
                let r = tickets::store::get_thread(tx, id).await;
                if let Ok(thread) = &r {
                    prop_assert_eq!(thread.customer.user_id, me);
                    prop_assert!(thread.messages.iter().all(|m| m.user_id == me));
                }
                owned(r, owner, me, |t| t.ticket.user_id)?;
            }
        }
        Op::ListTickets { status } => {
            let filter = TicketFilter {
                status: *status,
                ..Default::default()
            };
            let page = tickets::store::list(tx, &filter, 100, None)
                .await
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert!(page.items.iter().all(|t| t.user_id == me));
        }
        Op::UpdateTicket(i) => {
            if let Some((id, owner)) = pick(&ids.tickets, *i) {
                owned(
                    tickets::store::update(tx, id, Some(Status::Solved), None).await,
                    owner,
                    me,
                    |t| t.user_id,
                )?;
            }
        }
        Op::FindUser => {
            let u = users::store::find(tx)
                .await
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(u.id, me);
        }
    }
    Ok(())
}

#[test]
fn every_row_a_store_function_returns_belongs_to_the_calling_tenant() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (t, tenants): (TestDb, Vec<Tenant>) = rt.block_on(async {
        let t = TestDb::new().await;
        let mut tenants = Vec::new();
        for name in ["Acme", "Bolt", "Cord"] {
            tenants.push(new_tenant(&t.db, name).await);
        }
        (t, tenants)
    });
    let config = ProptestConfig {
        cases: 24,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |(ops in prop::collection::vec((0usize..3, op()), 1..40))| {
        rt.block_on(async {
            let mut ids = Ids::default();
            for (n, (who, op)) in ops.iter().enumerate() {
                let mut tx = t.db.begin(&tenants[*who]).await.map_err(|e| TestCaseError::fail(e.to_string()))?;
                apply(&mut tx, op, &mut ids, n).await?;
                // A refused write aborted the transaction; COMMIT then rolls back, as it should.
                tx.commit().await.map_err(|e| TestCaseError::fail(e.to_string()))?;
            }
            Ok::<(), TestCaseError>(())
        })?;
    });
}
