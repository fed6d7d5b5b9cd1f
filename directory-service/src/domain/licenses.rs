//! Subscriptions and license seats (seed 000). A group named exactly
//! `{PLAN}-{PRODUCT}-{SUBSCRIPTION_ID}` is the subscription's license group; its active
//! members, and users the license was assigned to directly, hold a seat. A change that
//! would take more seats than the subscription has is refused, never settled by evicting
//! someone. A user counts once, however many ways they hold the license.

use super::{DomainError, DomainResult};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subscription {
    pub subscription_id: String,
    pub plan: String,
    pub product: String,
    pub seats: i64,
}

impl Subscription {
    pub fn validated(self) -> DomainResult<Self> {
        let field = |name: &str, value: &str| {
            if value.trim().is_empty() || value.trim() != value || value.chars().count() > 200 {
                Err(DomainError::InvalidValue(format!(
                    "{name} must be 1-200 characters without surrounding spaces"
                )))
            } else {
                Ok(())
            }
        };
        field("subscription id", &self.subscription_id)?;
        field("plan", &self.plan)?;
        field("product", &self.product)?;
        if self.seats < 0 {
            return Err(DomainError::InvalidValue(
                "seats must not be negative".into(),
            ));
        }
        Ok(self)
    }

    /// The displayName the IdP must push, exactly.
    pub fn group_name(&self) -> String {
        format!("{}-{}-{}", self.plan, self.product, self.subscription_id)
    }
}

/// Refuses a change that takes seats beyond the subscription's count.
pub fn check_seats(
    subscription: &Subscription,
    holders_before: u64,
    holders_after: u64,
) -> DomainResult<()> {
    if holders_after > holders_before && holders_after > subscription.seats.max(0) as u64 {
        return Err(DomainError::Conflict(format!(
            "subscription {} ({}) has {} seats and all are taken: remove a license holder first",
            subscription.subscription_id,
            subscription.group_name(),
            subscription.seats
        )));
    }
    Ok(())
}

/// Lowering the seats below the current holders would leave members licensed beyond the
/// subscription: refuse, and say how many must go first.
pub fn check_new_seat_count(
    subscription: &Subscription,
    new_seats: i64,
    holders: u64,
) -> DomainResult<()> {
    if new_seats < 0 {
        return Err(DomainError::InvalidValue(
            "seats must not be negative".into(),
        ));
    }
    if (new_seats as u64) < holders {
        return Err(DomainError::Conflict(format!(
            "subscription {} has {holders} license holders: revoke {} license(s) or remove members \
             from {} before lowering its seats to {new_seats}",
            subscription.subscription_id,
            holders - new_seats as u64,
            subscription.group_name(),
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(seats: i64) -> Subscription {
        Subscription {
            subscription_id: "sub_1RqpMYGCs0LNOzY9UszOGJkL".into(),
            plan: "Enterprise Plan".into(),
            product: "AWS".into(),
            seats,
        }
    }

    #[test]
    fn group_name_is_the_seed_format() {
        assert_eq!(
            sub(1).group_name(),
            "Enterprise Plan-AWS-sub_1RqpMYGCs0LNOzY9UszOGJkL"
        );
    }

    #[test]
    fn seats_are_never_exceeded_by_a_change() {
        assert!(check_seats(&sub(2), 1, 2).is_ok());
        let err = check_seats(&sub(2), 2, 3).unwrap_err();
        assert!(
            err.to_string().contains("sub_1RqpMYGCs0LNOzY9UszOGJkL")
                && err.to_string().contains("2 seats")
        );
        assert!(
            check_seats(&sub(1), 3, 2).is_ok(),
            "shrinking an over-full subscription is fine"
        );
        assert!(sub(-1).validated().is_err());
        assert!(
            Subscription {
                plan: " x".into(),
                ..sub(1)
            }
            .validated()
            .is_err()
        );
    }

    #[test]
    fn seats_never_drop_below_the_holders() {
        assert!(check_new_seat_count(&sub(5), 3, 3).is_ok());
        assert!(check_new_seat_count(&sub(5), 10, 3).is_ok());
        let refused = check_new_seat_count(&sub(5), 2, 3).unwrap_err();
        assert!(
            matches!(refused, DomainError::Conflict(ref m) if m.contains("3 license holders") && m.contains("revoke 1"))
        );
        assert!(matches!(
            check_new_seat_count(&sub(5), -1, 0),
            Err(DomainError::InvalidValue(_))
        ));
    }
}
