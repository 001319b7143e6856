//! Per-officer allowances counted in this instance's memory: how many addresses an officer
//! may check against TechPass in an hour (the batch pre-check answers "has an account" per
//! address, so it must not become a way to list who has one).

use std::collections::HashMap;
use std::sync::Mutex;

const HOUR_SECS: i64 = 3600;

/// At most `limit` units per officer in each hour (an hour starts at their first use).
#[derive(Debug)]
pub struct HourlyBudget {
    limit: usize,
    spent: Mutex<HashMap<String, (i64, usize)>>,
}

impl HourlyBudget {
    pub fn new(limit: usize) -> HourlyBudget {
        HourlyBudget {
            limit,
            spent: Mutex::new(HashMap::new()),
        }
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Takes `units` from `who`'s allowance, or says when there will be room again.
    pub fn spend(&self, who: &str, units: usize) -> Result<(), String> {
        self.spend_at(who, units, time::OffsetDateTime::now_utc().unix_timestamp())
    }

    fn spend_at(&self, who: &str, units: usize, now: i64) -> Result<(), String> {
        let mut spent = self.spent.lock().unwrap_or_else(|p| p.into_inner());
        // Forget finished hours now and then, so the map stays small.
        if spent.len() > 10_000 {
            spent.retain(|_, (start, _)| now - *start < HOUR_SECS);
        }
        let entry = spent.entry(who.to_string()).or_insert((now, 0));
        if now - entry.0 >= HOUR_SECS {
            *entry = (now, 0);
        }
        if entry.1.saturating_add(units) > self.limit {
            let minutes = ((entry.0 + HOUR_SECS - now + 59) / 60).max(1);
            return Err(format!(
                "You have checked {} addresses against TechPass in the last hour, the most \
                 allowed. The list is kept: try again in {minutes} minute{}",
                entry.1,
                if minutes == 1 { "" } else { "s" }
            ));
        }
        entry.1 += units;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_officer_gets_the_limit_each_hour_and_others_their_own() {
        let budget = HourlyBudget::new(10);
        assert!(budget.spend_at("a", 8, 1_000).is_ok());
        let err = budget.spend_at("a", 3, 1_100).expect_err("over");
        assert!(err.contains("checked 8 addresses"), "{err}");
        assert!(err.contains("try again in 59 minutes"), "{err}");
        assert!(budget.spend_at("a", 2, 1_200).is_ok(), "up to the limit");
        assert!(budget.spend_at("b", 10, 1_200).is_ok(), "another officer");
        assert!(
            budget.spend_at("a", 1, 1_000 + HOUR_SECS).is_ok(),
            "a new hour"
        );
    }
}
