//! Tenant isolation (SECURITY.md R1–R8) as the service role, with and without the stores.

mod catalog;
mod pool;
mod property;
mod two_tenants;
