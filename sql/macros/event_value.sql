-- macro: event_value — the money an event puts at stake: purchases their amount, carts their cart
-- value (or price x quantity), checkouts their cart; views and the rest nothing.
CREATE OR REPLACE TEMP MACRO event_value(event_type, amount, cart_value, price, quantity) AS
    CASE event_type
        WHEN 'purchase' THEN coalesce(amount, cart_value, price * coalesce(quantity, 1))
        WHEN 'add_to_cart' THEN coalesce(cart_value, price * coalesce(quantity, 1))
        WHEN 'checkout' THEN coalesce(cart_value, amount)
        ELSE 0
    END;
