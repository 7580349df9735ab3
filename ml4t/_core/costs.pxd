# Commission and slippage models. Built-ins run at C speed; a Python subclass
# that overrides the cpdef method is called through the same slot.

cdef class CommissionModel:
    cdef public int fill_asset            # asset id of the fill being charged (-1: none yet)
    cdef public long long fill_order      # its order id (0: none yet)
    cdef public object asset_names        # the run's asset names, set by the engine
    cpdef double commission(self, double qty, double price, double filled_before,
                            double charged_before) except? -1.0

cdef class NoCommission(CommissionModel):
    pass

cdef class PerShareCommission(CommissionModel):
    cdef readonly double rate
    cdef readonly double minimum
    cdef readonly double maximum          # per order, in currency; inf = no cap

cdef class PercentCommission(CommissionModel):
    cdef readonly double rate             # fraction of notional, e.g. 0.001 = 0.1%

cdef class FixedCommission(CommissionModel):
    cdef readonly double amount           # per order, charged on its first fill

cdef class PerAssetCommission(CommissionModel):
    cdef readonly dict models             # asset name -> CommissionModel
    cdef readonly CommissionModel default # for the assets not in ``models``


cdef class SlippageModel:
    cdef public int fill_asset            # asset id of the fill being priced (-1: none yet)
    cdef public long long fill_order      # its order id (0: none yet)
    cdef public object asset_names        # the run's asset names, set by the engine
    cdef public double volume_limit       # cap on fill size as a fraction of bar volume; NaN = none
    cdef public int history_window        # bars of history the model needs (0 = none)
    cdef public bint respect_limit        # True: a limit order never fills beyond its limit
    cpdef double fill_price(self, double ref, double qty, double volume) except? -1.0
    cpdef double fill_price_ctx(self, double ref, double qty, double volume, double sigma,
                                double adv) except? -1.0

cdef class NoSlippage(SlippageModel):
    pass

cdef class FixedBpsSlippage(SlippageModel):
    cdef readonly double bps

cdef class FixedSpreadSlippage(SlippageModel):
    cdef readonly double spread           # full spread; each side pays half

cdef class VolumeShareSlippage(SlippageModel):
    cdef readonly double price_impact

cdef class SquareRootImpact(SlippageModel):
    cdef readonly double coefficient
