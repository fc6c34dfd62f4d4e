/** @odoo-module **/
/**
 * Bot protection of the booking engine's last step.
 *
 * When the hotel installed Odoo's reCAPTCHA (`google_recaptcha`) or Cloudflare Turnstile
 * (`website_cf_turnstile`) and set its keys, the session carries the site key: the "Confirm
 * booking" form then sends the token the server checks with
 * `ir.http._verify_request_recaptcha_token` (`recaptcha_token_response`, `turnstile_captcha`).
 * Without those modules this does nothing.
 */

import { loadJS } from "@web/core/assets";
import { session } from "@web/session";
import publicWidget from "@web/legacy/js/public/public_widget";

const ACTION = "clock_booking";

publicWidget.registry.ClockBookingBotProtection = publicWidget.Widget.extend({
    selector: 'form[action="/book/finish"]',
    events: { submit: "_onSubmit" },

    async start() {
        await this._super(...arguments);
        if (session.turnstile_site_key) {
            await loadJS("https://challenges.cloudflare.com/turnstile/v0/api.js?render=explicit");
            const box = document.createElement("div");
            box.className = "my-2";
            this.el.querySelector('[type="submit"]')?.before(box);
            window.turnstile.render(box, {
                sitekey: session.turnstile_site_key,
                action: ACTION,
                "response-field-name": "turnstile_captcha",
            });
        }
        if (session.recaptcha_public_key) {
            const key = encodeURIComponent(session.recaptcha_public_key);
            this._recaptchaReady = loadJS(
                `https://www.recaptcha.net/recaptcha/api.js?render=${key}`,
            ).then(() => new Promise((resolve) => window.grecaptcha.ready(resolve)));
        }
    },

    async _onSubmit(ev) {
        if (!this._recaptchaReady || this._tokenSet) {
            return;
        }
        ev.preventDefault();
        await this._recaptchaReady;
        const token = await window.grecaptcha.execute(session.recaptcha_public_key, {
            action: ACTION,
        });
        const input = document.createElement("input");
        Object.assign(input, { type: "hidden", name: "recaptcha_token_response", value: token });
        this.el.append(input);
        this._tokenSet = true;
        this.el.requestSubmit();
    },
});
