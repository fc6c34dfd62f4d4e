-- blank the Stripe (hotel) credentials of a copied database
UPDATE payment_provider
   SET clock_stripe_secret_key = NULL,
       clock_stripe_publishable_key = NULL,
       clock_stripe_webhook_secret = NULL,
       clock_stripe_webhook_endpoint_id = NULL;
