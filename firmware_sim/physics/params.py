"""Physical and biological parameters, each default with its source.

"Assumed" means a plausible value chosen for the simulator, not a measurement; the scenario can override
it. Values tagged with a reference are taken from (or rounded from) that reference.
"""

from __future__ import annotations

from pydantic import Field

from blueranch.contracts.strict import FrozenStrictModel


class Climate(FrozenStrictModel):
    # Sea surface temperature off Taizhou (28.5 N, 122 E): ~11 degC in February to ~27-28 degC in August
    # (NOAA OISST v2.1 climatology, Huang et al. 2021, J. Climate 34:2923; rounded).
    sst_mean_c: float = Field(19.5, ge=-2, le=35)
    sst_amp_c: float = Field(8.5, ge=0, le=20)
    sst_peak_doy: float = Field(222.0, ge=0, le=366)
    # Diurnal SST range of a few tenths of a degree under calm sun (Kawai & Wada 2007, J. Oceanogr. 63:721).
    sst_diurnal_amp_c: float = Field(0.3, ge=0, le=5)
    # Zhejiang coastal water, diluted by the Changjiang and Jiaojiang plumes: ~28-32 PSU, freshest in
    # summer (assumed, typical of the Zhejiang coastal current).
    salinity_mean_psu: float = Field(30.0, ge=0, le=42)
    salinity_amp_psu: float = Field(1.5, ge=0, le=10)
    salinity_peak_doy: float = Field(45.0, ge=0, le=366)
    # Jiaojiang estuary is macrotidal (mean range ~4 m; China tide tables). Amplitudes assumed for Dachen:
    # M2 1.6 m, S2 0.6 m (S2/M2 ~ 0.4, assumed typical of the East China Sea's semidiurnal tide).
    tide_m2_amp_m: float = Field(1.6, ge=0, le=8)
    tide_s2_amp_m: float = Field(0.6, ge=0, le=4)
    # Chlorophyll: spring bloom, ~1-6 ug/L in Zhejiang coastal water (assumed within ranges reported for
    # the Zhoushan/Taizhou coast).
    chl_mean_ug_l: float = Field(3.0, ge=0, le=100)
    chl_amp_ug_l: float = Field(1.5, ge=0, le=100)
    chl_peak_doy: float = Field(130.0, ge=0, le=366)
    # Turbid coast (Changjiang sediment): ~5-20 NTU in calm weather (assumed).
    turbidity_ntu: float = Field(8.0, ge=0, le=1000)
    ph_mean: float = Field(8.05, ge=6, le=9)  # open-shelf surface seawater pH ~8.0-8.1 (assumed).
    # Diel DO: production amplitude and night respiration in % saturation at 20 degC (assumed; productive
    # coastal water swings ~+-10 % saturation a day, Odum 1956).
    do_production_pct: float = Field(9.0, ge=0, le=100)
    do_respiration_pct: float = Field(4.0, ge=0, le=100)
    # Winds: NE winter monsoon ~7-8 m/s, SW summer monsoon ~5 m/s over the ECS (assumed from QuikSCAT
    # climatologies); peak in December.
    wind_mean_m_s: float = Field(6.0, ge=0, le=40)
    wind_seasonal_amp_m_s: float = Field(1.5, ge=0, le=20)
    wind_peak_doy: float = Field(350.0, ge=0, le=366)
    fetch_factor: float = Field(0.3, gt=0, le=1, description="fraction of a fully developed sea (assumed)")
    swell_m: float = Field(0.4, ge=0, le=10)
    # Sea-level pressure: Siberian-high winter ~1022 hPa, summer ~1005 hPa (assumed, ERA5 climatology).
    pressure_mean_hpa: float = Field(1013.5, ge=900, le=1100)
    pressure_seasonal_amp_hpa: float = Field(8.5, ge=0, le=50)
    air_temp_mean_c: float = Field(17.5, ge=-30, le=40)
    air_temp_amp_c: float = Field(10.0, ge=0, le=30)
    air_diurnal_amp_c: float = Field(2.5, ge=0, le=15)
    utc_offset_h: float = Field(8.0, ge=-12, le=14, description="China Standard Time")
    #: Typhoon season weight: share of random storms falling in July-September (CMA typhoon yearbooks:
    #: most landfalling typhoons in Zhejiang come in Jul-Sep; assumed 70 %).
    storm_summer_share: float = Field(0.7, ge=0, le=1)


class Biology(FrozenStrictModel):
    # Mussel (Mytilus coruscus) shell growth, von Bertalanffy dL/dt = K f(T) (Linf - L). Assumed values
    # chosen so longline-farmed mussels seeded at ~1.5 cm in spring reach ~8-9 cm market size in about a
    # year, as reported for Zhejiang (Shengsi) farms; Linf ~12 cm is within sizes reported for the species.
    mussel_linf_cm: float = Field(12.0, gt=0, le=30)
    mussel_k_per_yr: float = Field(1.6, gt=0, le=10)
    mussel_seed_length_cm: float = Field(1.5, gt=0, le=10)
    mussel_topt_c: float = Field(20.0, ge=0, le=35)
    mussel_twidth_c: float = Field(8.0, gt=0, le=30)
    # Total wet weight (shell + tissue) W = a L^b, g and cm; isometric b = 3 with a = 0.045 gives ~33 g at
    # 9 cm (assumed; thick-shelled mussel).
    mussel_wa_g_cm3: float = Field(0.045, gt=0, le=1)
    mussel_wb: float = Field(3.0, gt=1, le=4)
    # Natural mortality on ropes ~30 %/yr (assumed; farmed mussel losses of 20-50 % per cycle are common).
    mussel_mortality_per_yr: float = Field(0.35, ge=0, le=5)
    # Fall-off: hourly fraction lost per metre of significant wave height above the threshold (assumed),
    # and under hypoxia (DO < 2 mg/L weakens byssal attachment: George et al. 2019, thresholds csv).
    falloff_wave_threshold_m: float = Field(2.5, ge=0, le=20)
    falloff_per_m_h: float = Field(0.002, ge=0, le=1)
    hypoxia_do_mg_l: float = Field(2.0, ge=0, le=10)
    hypoxia_loss_per_h: float = Field(0.002, ge=0, le=1)
    # Kelp (Saccharina japonica): farmed Nov-May in Zhejiang; logistic growth from outplanting to ~10x
    # seed mass by April (assumed); growth optimum 5-15 degC and stops above ~20 degC (Kain 1979; Bolton &
    # Luning 1982, Mar. Biol. 66:89).
    kelp_r_per_day: float = Field(0.035, gt=0, le=1)
    kelp_max_factor: float = Field(12.0, gt=1, le=1000)
    kelp_topt_c: float = Field(12.0, ge=0, le=30)
    kelp_twidth_c: float = Field(6.0, gt=0, le=30)
    # Reef fish: standing stock peaks in autumn and moves offshore in winter (assumed +-50 %, Sep peak).
    reef_seasonal_frac: float = Field(0.5, ge=0, le=1)
    reef_peak_doy: float = Field(260.0, ge=0, le=366)
    reef_mean_weight_kg: float = Field(0.35, gt=0, le=100)
    reef_volume_m3: float = Field(105_000.0 * 10, gt=0, description="insonified volume: 10x reef volume")


class Energy(FrozenStrictModel):
    # Island load: assumed 900 kW mean (a ~3,000-resident island with fisheries; no published figure),
    # evening peak, summer air conditioning peak; diesel assumed 60 L/h mean for boats and backup sets.
    grid_mean_kw: float = Field(900.0, ge=0, le=1e6)
    grid_daily_amp: float = Field(0.35, ge=0, le=1)
    grid_seasonal_amp: float = Field(0.25, ge=0, le=1)
    grid_peak_doy: float = Field(210.0, ge=0, le=366)
    diesel_mean_l_h: float = Field(60.0, ge=0, le=1e5)
    diesel_seasonal_amp: float = Field(0.4, ge=0, le=1)
    diesel_peak_doy: float = Field(270.0, ge=0, le=366, description="autumn fishing season (assumed)")
    grid_start_kwh: float = Field(1_250_000.0, ge=0)
    diesel_start_l: float = Field(84_000.0, ge=0)
