-- A gateway's confirmation that arrives when nothing is owed any more (the fee paid at the
-- counter meanwhile, or the application withdrawn) is a real charge to give back: the
-- payment is kept as `refund_due` instead of paying the fee twice.
ALTER TABLE payments DROP CONSTRAINT payments_status_check;
ALTER TABLE payments ADD CONSTRAINT payments_status_check
    CHECK (status IN ('pending', 'paid', 'refund_due'));
