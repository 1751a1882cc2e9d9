-- The customer list's search by leading account-number digits, within one white label. On
-- SQLite, whose planner ignores bound values, the unique index on the account number alone
-- lost to customers_white_label_newest, which reads every customer of the white label.
CREATE INDEX customers_white_label_account_number ON customers (white_label_id, account_number);
