//! The small embedded table of AWS instance classes the cost and capacity
//! models know: on-demand prices (us-east-1, USD per hour) and memory.

/// One instance class.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InstanceClass {
    pub name: &'static str,
    /// On-demand price per hour, single-AZ.
    pub hourly_usd: f64,
    /// Memory in GiB.
    pub memory_gib: f64,
}

const fn class(name: &'static str, hourly_usd: f64, memory_gib: f64) -> InstanceClass {
    InstanceClass {
        name,
        hourly_usd,
        memory_gib,
    }
}

/// RDS for PostgreSQL instance classes.
pub const RDS_POSTGRES: &[InstanceClass] = &[
    class("db.t3.micro", 0.018, 1.0),
    class("db.t3.small", 0.036, 2.0),
    class("db.t3.medium", 0.072, 4.0),
    class("db.t3.large", 0.145, 8.0),
    class("db.t4g.micro", 0.016, 1.0),
    class("db.t4g.small", 0.032, 2.0),
    class("db.t4g.medium", 0.065, 4.0),
    class("db.t4g.large", 0.129, 8.0),
    class("db.m5.large", 0.178, 8.0),
    class("db.m6g.large", 0.159, 8.0),
    class("db.m6i.large", 0.178, 8.0),
    class("db.r6g.large", 0.225, 16.0),
    class("db.r6i.large", 0.250, 16.0),
];

/// ElastiCache for Redis node types.
pub const ELASTICACHE_REDIS: &[InstanceClass] = &[
    class("cache.t3.micro", 0.017, 0.5),
    class("cache.t3.small", 0.034, 1.37),
    class("cache.t3.medium", 0.068, 3.09),
    class("cache.t4g.micro", 0.016, 0.5),
    class("cache.t4g.small", 0.032, 1.37),
    class("cache.t4g.medium", 0.065, 3.09),
    class("cache.m6g.large", 0.149, 6.38),
    class("cache.r6g.large", 0.206, 13.07),
];

/// gp3 storage, USD per GiB-month.
pub const RDS_STORAGE_GIB_MONTH_USD: f64 = 0.115;

/// Hours in the billing month AWS uses.
pub const HOURS_PER_MONTH: f64 = 730.0;

/// Looks a class up by name in `table`.
pub fn find(table: &'static [InstanceClass], name: &str) -> Option<&'static InstanceClass> {
    table.iter().find(|class| class.name == name)
}
