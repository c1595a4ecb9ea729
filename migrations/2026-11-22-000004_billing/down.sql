DROP TABLE payments;
DROP TABLE subscriptions;
DROP TABLE subscription_plans;
DROP TYPE payment_status;
DROP TYPE subscription_status;
DROP TYPE billing_interval;
