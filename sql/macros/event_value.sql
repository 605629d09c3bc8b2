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

-- macro: cart_state — the user's cart total in the event's currency after an event that sets it:
-- a purchase empties the cart (0), an event with a cart total sets it; NULL for other events.
CREATE OR REPLACE TEMP MACRO cart_state(event_type, cart_value) AS
    CASE WHEN event_type = 'purchase' THEN 0 ELSE cart_value END;

-- macro: value_at_risk — THE money an event puts at risk (README "Money"), used by the marts
-- (sql/staging/stg_events.sql) and the live fraud rules (sql/stream/live_events.sql) alike.
-- previous_cart, previous_time: the cart_state and event time of the user's previous event in the
-- same currency that set one (ordered by event time, then event id), NULL when there is none.
-- Purchases: event_value; events with a cart total: how much they raise the previous cart (a cart
-- older than lookback_us microseconds counts anew), never below 0; the rest: event_value.
CREATE OR REPLACE TEMP MACRO value_at_risk(
    event_type, amount, cart_value, price, quantity, previous_cart, previous_time, event_time, lookback_us
) AS
    CASE
        WHEN event_type = 'purchase' THEN event_value(event_type, amount, cart_value, price, quantity)
        WHEN cart_value IS NOT NULL THEN greatest(
            cart_value - CASE WHEN epoch_us(event_time) - epoch_us(previous_time) <= lookback_us THEN previous_cart ELSE 0 END,
            0
        )
        ELSE event_value(event_type, amount, cart_value, price, quantity)
    END;

-- macro: reporting_rate — reporting-currency units per unit of the event's currency: 1 for the
-- reporting currency, else the rates file's rate (rate, from an ASOF join on the event's date) when
-- converting, else NULL (the amount is unconverted: never summed in nor compared).
CREATE OR REPLACE TEMP MACRO reporting_rate(currency, rate, reporting_currency, convert_currencies) AS
    CASE
        WHEN currency = reporting_currency THEN CAST(1 AS DECIMAL(18, 9))
        WHEN CAST(convert_currencies AS BOOLEAN) THEN rate
    END;
