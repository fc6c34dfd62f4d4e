from odoo import models


class PaymentCaptureWizard(models.TransientModel):
    _inherit = "payment.capture.wizard"

    def action_capture(self):
        """Override of `payment`: the wizard captures (and releases the rest of)
        hotel holds only for hotel payments staff."""
        self.transaction_ids._clock_check_staff_access()
        return super().action_capture()
