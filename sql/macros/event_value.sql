-- macro: event_value — the money of an event that carries no cart state: purchases their amount
-- (else their cart value, else price x quantity), carts without a cart total price x quantity, the
-- rest nothing. Events with a cart total (cart_value = the running cart after the event) count by
-- how much they raise it instead: see value_at_risk in sql/staging/stg_events.sql.
CREATE OR REPLACE TEMP MACRO event_value(event_type, amount, cart_value, price, quantity) AS
    CASE event_type
        WHEN 'purchase' THEN coalesce(amount, cart_value, price * coalesce(quantity, 1))
        WHEN 'add_to_cart' THEN price * coalesce(quantity, 1)
        ELSE 0
    END;
