from . import test_deposit
from . import test_reservation
from . import test_security
from . import test_booking_engine
from . import test_portal
from . import test_tour
from . import test_accessibility
from . import test_booking_engine_abuse
