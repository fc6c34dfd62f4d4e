from . import clock_transaction_wizard
from . import clock_card_link_wizard
from . import clock_charge_wizard
from . import clock_capture_wizard
from . import clock_refund_wizard
from . import payment_capture_wizard
