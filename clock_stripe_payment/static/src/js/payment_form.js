/** @odoo-module */

import { loadJS } from "@web/core/assets";
import { _t } from "@web/core/l10n/translation";
import { rpc, RPCError } from "@web/core/network/rpc";
import paymentForm from "@payment/js/payment_form";

const PROVIDER_CODE = "clock_stripe";
const DEFAULT_STRIPE_JS_URL = "https://js.stripe.com/v3/";
const CONFIRM_ROUTE = "/payment/clock_stripe/confirm";
const FAILED_STATES = ["error", "cancel"];

/**
 * Card form of the "Stripe (hotel)" provider (`clock_stripe`).
 *
 * The card is typed into Stripe.js' Card Element (Stripe's own fields: the number never reaches
 * Odoo). The flow only uses the Stripe.js calls that Stripe.js has had for long, so that a
 * stand-in for Stripe.js in tests runs it too:
 *
 * 1. `stripe.confirmCardSetup(setupIntentSecret, {payment_method: {card, billing_details}})`
 *    turns the typed card into a payment method, on the SetupIntent the server created for the
 *    transaction (Stripe runs 3-D Secure itself here when the bank asks);
 * 2. the confirm route checks the hotel's card rules, then charges, holds or saves the card;
 * 3. only when the server answers `requires_action`, `stripe.confirmCardPayment(clientSecret)`
 *    runs 3-D Secure on the PaymentIntent, and the confirm route is called again to sync it;
 * 4. the customer is sent to `/payment/status`.
 *
 * Saved cards go through Odoo's token flow; if their payment needs authentication, step 3 runs.
 * Alternative methods (no card form) keep Odoo's redirect flow to Stripe Checkout.
 */
paymentForm.include({
    // #=== DOM MANIPULATION ===#

    /**
     * Mount the Card Element in the inline form of the card payment method.
     *
     * @override method from @payment/js/payment_form
     * @private
     * @param {number} providerId - The id of the selected payment option's provider.
     * @param {string} providerCode - The code of the selected payment option's provider.
     * @param {number} paymentOptionId - The id of the selected payment option.
     * @param {string} paymentMethodCode - The code of the selected payment method, if any.
     * @param {string} flow - The online payment flow of the selected payment option.
     * @return {void}
     */
    async _prepareInlineForm(providerId, providerCode, paymentOptionId, paymentMethodCode, flow) {
        if (providerCode !== PROVIDER_CODE) {
            return this._super(...arguments);
        }
        if (flow === "token") {
            return; // Saved cards are paid through Odoo's token flow.
        }
        const formEl = this._clockStripeGetFormElement(paymentOptionId);
        if (!formEl) {
            return; // An alternative method: redirect to a Stripe-hosted page.
        }
        this._setPaymentFlow("direct");

        this.clockStripeCards ??= {}; // The mounted card form of each payment option.
        if (this.clockStripeCards[paymentOptionId]) {
            return; // Already mounted.
        }
        const values = JSON.parse(formEl.dataset.clockStripeValues || "{}");
        let stripeJS;
        try {
            stripeJS = await this._clockStripeGetStripe(
                values.publishable_key,
                values.stripe_js_url,
            );
        } catch (error) {
            this._displayErrorDialog(_t("Cannot display the payment form"), error.message);
            return;
        }
        const cardOptions = {
            hidePostalCode: Boolean(values.require_address), // Collected with the address.
            style: { base: { fontSize: "16px" } },
        };
        const card = stripeJS.elements().create("card", cardOptions);
        const entry = {
            stripeJS,
            card,
            values,
            formEl,
            // The Card Element's last `change` event; Stripe.js starts empty.
            state: { complete: false, empty: true, error: null, brand: "unknown" },
        };
        card.on("change", (event) => this._clockStripeOnCardChange(entry, event));
        card.mount(formEl.querySelector('[name="o_clock_stripe_card_element"]'));
        this.clockStripeCards[paymentOptionId] = entry;
    },

    /**
     * Keep the state of the Card Element and show its problems under it.
     *
     * @private
     * @param {object} entry - The card form of the payment option.
     * @param {object} [event] - Stripe.js' change event.
     * @return {void}
     */
    _clockStripeOnCardChange(entry, event) {
        entry.state = {
            complete: Boolean(event.complete),
            empty: Boolean(event.empty),
            error: event.error || null,
            brand: event.brand || "unknown",
        };
        const errorEl = entry.formEl.querySelector('[name="o_clock_stripe_card_error"]');
        if (errorEl) {
            const message = this._clockStripeGetCardProblem(entry, false);
            errorEl.textContent = message;
            errorEl.classList.toggle("d-none", !message);
        }
    },

    // #=== PAYMENT FLOW ===#

    /**
     * Check the card form before a transaction is created for it.
     *
     * @override method from @payment/js/payment_form
     * @private
     * @param {string} providerCode - The code of the selected payment option's provider.
     * @param {number} paymentOptionId - The id of the selected payment option.
     * @param {string} paymentMethodCode - The code of the selected payment method, if any.
     * @param {string} flow - The payment flow of the selected payment option.
     * @return {void}
     */
    async _initiatePaymentFlow(providerCode, paymentOptionId, paymentMethodCode, flow) {
        if (providerCode !== PROVIDER_CODE || flow !== "direct") {
            return this._super(...arguments);
        }
        const entry = this.clockStripeCards?.[paymentOptionId];
        const problem = entry
            ? this._clockStripeGetCardProblem(entry, true) ||
              this._clockStripeGetAddressProblem(entry)
            : _t("The card form could not be loaded. Please reload the page.");
        if (problem) {
            this._displayErrorDialog(_t("Incorrect payment details"), problem);
            this._enableButton();
            return;
        }
        return this._super(...arguments);
    },

    /**
     * Collect the card on the transaction's SetupIntent, then let the server pay or save it.
     *
     * @override method from @payment/js/payment_form
     * @private
     * @param {string} providerCode - The code of the selected payment option's provider.
     * @param {number} paymentOptionId - The id of the selected payment option.
     * @param {string} paymentMethodCode - The code of the selected payment method, if any.
     * @param {object} processingValues - The processing values of the transaction.
     * @return {void}
     */
    async _processDirectFlow(providerCode, paymentOptionId, paymentMethodCode, processingValues) {
        if (providerCode !== PROVIDER_CODE) {
            return this._super(...arguments);
        }
        // The caller does not wait for this method: every error must be handled here.
        try {
            const entry = this.clockStripeCards[paymentOptionId];
            const { setupIntent, error } = await this._clockStripeWithStripeUI(() =>
                entry.stripeJS.confirmCardSetup(processingValues.clock_stripe_setup_intent_secret, {
                    payment_method: {
                        card: entry.card,
                        billing_details: this._clockStripeGetBillingDetails(entry),
                    },
                }),
            );
            if (error || !setupIntent) {
                this._clockStripeFail(error?.message);
                return;
            }
            let result = await this._clockStripeConfirm(processingValues, {
                setup_intent_id: setupIntent.id,
            });
            if (result.requires_action) {
                result = await this._clockStripeAuthenticate(
                    entry.stripeJS,
                    processingValues,
                    result,
                );
            }
            this._clockStripeFinish(processingValues, result);
        } catch (error) {
            this._clockStripeHandleError(error);
        }
    },

    /**
     * Run 3-D Secure when the payment with a saved card asks for it, then go to the status page.
     *
     * @override method from @payment/js/payment_form
     * @private
     * @param {string} providerCode - The code of the selected payment option's provider.
     * @param {number} paymentOptionId - The id of the selected payment option.
     * @param {string} paymentMethodCode - The code of the selected payment method, if any.
     * @param {object} processingValues - The processing values of the transaction.
     * @return {void}
     */
    async _processTokenFlow(providerCode, paymentOptionId, paymentMethodCode, processingValues) {
        if (
            providerCode !== PROVIDER_CODE ||
            !processingValues.clock_stripe_requires_action ||
            !processingValues.clock_stripe_payment_intent_secret
        ) {
            return this._super(...arguments);
        }
        try {
            const stripeJS = await this._clockStripeGetStripe(
                processingValues.clock_stripe_publishable_key,
                processingValues.clock_stripe_js_url,
            );
            const result = await this._clockStripeAuthenticate(stripeJS, processingValues, {
                client_secret: processingValues.clock_stripe_payment_intent_secret,
            });
            this._clockStripeFinish(processingValues, result);
        } catch (error) {
            this._clockStripeHandleError(error);
        }
    },

    /**
     * Let Stripe.js authenticate the payment intent (3-D Secure), then sync the transaction.
     *
     * @private
     * @param {object} stripeJS - The Stripe.js object.
     * @param {object} processingValues - The processing values of the transaction.
     * @param {object} result - The answer asking for the authentication, with `client_secret`.
     * @return {object} The confirm route's answer after the authentication.
     */
    async _clockStripeAuthenticate(stripeJS, processingValues, result) {
        const { error } = await this._clockStripeWithStripeUI(() =>
            stripeJS.confirmCardPayment(result.client_secret),
        );
        // Sync the transaction whatever the outcome: the server reads the intent at Stripe.
        const synced = await this._clockStripeConfirm(processingValues, {});
        if (error && !FAILED_STATES.includes(synced.state)) {
            // Stripe.js failed before the bank answered: keep its message.
            return { ...synced, state: "error", message: error.message };
        }
        return synced;
    },

    /**
     * Run a Stripe.js call that may show its own UI (the bank's 3-D Secure page) with Odoo's UI
     * unblocked, so that the customer can reach it; the UI is blocked again afterwards.
     *
     * @private
     * @param {Function} callback - The Stripe.js call, returning a promise.
     * @return {object} The result of the call.
     */
    async _clockStripeWithStripeUI(callback) {
        this.call("ui", "unblock");
        try {
            return await callback();
        } finally {
            this.call("ui", "block");
        }
    },

    /**
     * Call the confirm route for the transaction.
     *
     * @private
     * @param {object} processingValues - The processing values of the transaction.
     * @param {object} params - Extra params: `setup_intent_id` after the card was collected;
     *                          none after 3-D Secure (the server reads the transaction's intent).
     * @return {object} `{reference, state, requires_action, client_secret, error, message,
     *                  redirect_url}`.
     */
    _clockStripeConfirm(processingValues, params) {
        return rpc(processingValues.clock_stripe_confirm_route || CONFIRM_ROUTE, {
            reference: processingValues.reference,
            access_token: processingValues.clock_stripe_access_token,
            ...params,
        });
    },

    /**
     * Go to the status page, or show why the card was refused.
     *
     * @private
     * @param {object} processingValues - The processing values of the transaction.
     * @param {object} result - The confirm route's answer.
     * @return {void}
     */
    _clockStripeFinish(processingValues, result) {
        if (FAILED_STATES.includes(result.state) || result.requires_action) {
            this._clockStripeFail(result.message || result.error);
        } else {
            window.location =
                result.redirect_url ||
                processingValues.clock_stripe_status_route ||
                "/payment/status";
        }
    },

    /**
     * Show an error dialog and let the customer try again.
     *
     * @private
     * @param {string} [message] - Why the payment failed.
     * @return {void}
     */
    _clockStripeFail(message) {
        const title =
            this.paymentContext.mode === "validation"
                ? _t("Cannot save payment method")
                : _t("Payment processing failed");
        this._displayErrorDialog(
            title,
            message || _t("Your card could not be processed. Please try again."),
        );
        this._enableButton();
    },

    /**
     * Turn an exception of the flow into an error dialog.
     *
     * @private
     * @param {Error} error - The exception.
     * @return {void}
     */
    _clockStripeHandleError(error) {
        if (error instanceof RPCError) {
            this._clockStripeFail(error.data.message);
        } else {
            this._clockStripeFail(error?.message);
        }
    },

    // #=== GETTERS ===#

    /**
     * Return the card form container of a payment method option, if it has one.
     *
     * @private
     * @param {number} paymentOptionId - The id of the payment method.
     * @return {HTMLElement|null}
     */
    _clockStripeGetFormElement(paymentOptionId) {
        const radio = this.el.querySelector(
            `input[name="o_payment_radio"][data-payment-option-type="payment_method"]` +
                `[data-payment-option-id="${paymentOptionId}"]`,
        );
        const inlineForm = radio && this._getInlineForm(radio);
        return inlineForm?.querySelector('[name="o_clock_stripe_inline_form"]') || null;
    },

    /**
     * Load Stripe.js from the provider's URL (once) and return a Stripe object for the key.
     *
     * @private
     * @param {string} publishableKey - The provider's publishable key.
     * @param {string} [url] - The provider's Stripe.js URL (Stripe's by default).
     * @return {object} The Stripe.js object.
     */
    async _clockStripeGetStripe(publishableKey, url) {
        if (!publishableKey) {
            throw new Error(
                _t("This payment method is not configured: its public key is missing."),
            );
        }
        url = new URL(url || DEFAULT_STRIPE_JS_URL, window.location.href).href;
        this.clockStripeInstances ??= {};
        const cacheKey = `${url}|${publishableKey}`;
        if (!this.clockStripeInstances[cacheKey]) {
            await loadStripeJS(url);
            this.clockStripeInstances[cacheKey] = window.Stripe(publishableKey);
        }
        return this.clockStripeInstances[cacheKey];
    },

    /**
     * Return what keeps the card from being submitted, if anything.
     *
     * @private
     * @param {object} entry - The card form of the payment option.
     * @param {boolean} submitting - Whether the form is being submitted (an empty or incomplete
     *                               card is only a problem then).
     * @return {string} The problem, or an empty string.
     */
    _clockStripeGetCardProblem(entry, submitting) {
        const { complete, empty, error, brand } = entry.state;
        const brands = entry.values.supported_brands || [];
        if (error) {
            return error.message;
        }
        if (brand && brand !== "unknown" && brands.length && !brands.includes(brand)) {
            return _t(
                "This card brand is not accepted. Accepted brands: %s.",
                entry.values.supported_brand_names || brands.join(", "),
            );
        }
        if (submitting && empty) {
            return _t("Please enter your card details.");
        }
        if (submitting && !complete) {
            return _t("Your card details are incomplete.");
        }
        return "";
    },

    /**
     * Return what is missing in the billing address when the hotel requires one.
     *
     * @private
     * @param {object} entry - The card form of the payment option.
     * @return {string} The problem, or an empty string.
     */
    _clockStripeGetAddressProblem(entry) {
        if (!entry.values.require_address) {
            return "";
        }
        const missing = [];
        for (const input of entry.formEl.querySelectorAll("[data-clock-stripe-required]")) {
            const empty = !input.value.trim();
            input.classList.toggle("is-invalid", empty);
            if (empty) {
                // aria-label: the field's name, translated with the page.
                missing.push(input.getAttribute("aria-label") || input.name);
            }
        }
        return missing.length
            ? _t("Please fill in the billing address: %s.", missing.join(", "))
            : "";
    },

    /**
     * Return the billing details to send with the card, without empty values (Stripe refuses
     * empty strings).
     *
     * @private
     * @param {object} entry - The card form of the payment option.
     * @return {object}
     */
    _clockStripeGetBillingDetails(entry) {
        const partner = entry.values.billing_details || {};
        const details = { name: partner.name, email: partner.email, phone: partner.phone };
        if (entry.values.require_address) {
            const field = (name) =>
                entry.formEl.querySelector(`[name="o_clock_stripe_${name}"]`)?.value.trim();
            details.name = field("name") || details.name;
            details.address = {
                line1: field("line1"),
                line2: field("line2"),
                city: field("city"),
                postal_code: field("postal_code"),
                country: field("country"),
            };
        }
        return pruneEmpty(details);
    },
});

/**
 * Load Stripe.js from `url`, once per page.
 *
 * The payment form's template already puts the provider's Stripe.js in the page, and Odoo's own
 * Stripe provider may have loaded Stripe's: it must never be loaded twice.
 *
 * @param {string} url - The absolute Stripe.js URL.
 * @return {Promise<void>}
 */
function loadStripeJS(url) {
    const loaded = [...document.querySelectorAll("script[src]")].some(
        (script) => script.src === url,
    );
    return loaded && window.Stripe ? Promise.resolve() : loadJS(url);
}

/**
 * Return a copy of the object without empty values, recursively.
 *
 * @param {object} values
 * @return {object}
 */
function pruneEmpty(values) {
    const result = {};
    for (const [key, value] of Object.entries(values)) {
        if (value && typeof value === "object") {
            const pruned = pruneEmpty(value);
            if (Object.keys(pruned).length) {
                result[key] = pruned;
            }
        } else if (value !== undefined && value !== null && value !== "") {
            result[key] = value;
        }
    }
    return result;
}
