"""Seeded synthetic Chinese dialogues, fraud and not fraud, in the reference record format.

    from fraudft.synthetic import SynthConfig, generate
    records = generate(SynthConfig(n=1000, seed=0))                         # the default dataset
    leaky = generate(SynthConfig(n=1000, seed=0, shortcut="speaker_tag"))   # one planted leak

    python -c "import json; from fraudft.synthetic import generate; \
        print('\\n'.join(json.dumps(r, ensure_ascii=False) for r in generate()))" > synth.jsonl

Each record is `{"input", "label", "fraud_speaker", "instruction"}`; `input` is `speaker: text`
lines joined by "\\n". Ten fraud schemes and twelve kinds of hard negatives share the same money
vocabulary (banks, transfers, verification codes, amounts), so the label is carried by the scam
pattern, not by words like 银行 or 验证码. By default the classes share the distributions of speaker
tags, number of turns, length (dialogues are padded with neutral phrases to a length target drawn
independently of the label), punctuation and digits; `shortcut` plants one named surface feature
that also predicts the label, for shortcut ablations and leak audits.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from fraudft.records import REFERENCE_INSTRUCTION

__all__ = ["SHORTCUTS", "SynthConfig", "generate"]

SHORTCUTS: tuple[str, ...] = ("speaker_tag", "length", "turns", "instruction", "punctuation")

LEAKY_INSTRUCTION = REFERENCE_INSTRUCTION[:-1] + " \n"  # shortcut="instruction": a trailing space


@dataclass(frozen=True)
class SynthConfig:
    """What to generate: size, seed, class balance, label noise and an optional planted shortcut."""

    n: int = 1000
    seed: int = 0
    fraud_ratio: float = 0.5
    label_noise: float = 0.0
    shortcut: str | None = None

    def __post_init__(self):
        for name, low in (("n", 1), ("seed", None)):
            value = getattr(self, name)
            if type(value) is not int or (low is not None and value < low):
                wanted = "an int" + (f" >= {low}" if low is not None else "")
                raise ValueError(f"{name}: got {value!r}, expected {wanted}")
        for name, high in (("fraud_ratio", 1.0), ("label_noise", 0.5)):
            value = getattr(self, name)
            number = type(value) in (int, float) and math.isfinite(value)
            if not number or not 0 <= value <= high:
                raise ValueError(f"{name}: got {value!r}, expected a number in [0, {high}]")
        if self.shortcut is not None and self.shortcut not in SHORTCUTS:
            valid = ", ".join(repr(s) for s in SHORTCUTS)
            raise ValueError(f"shortcut: got {self.shortcut!r}, expected None or one of {valid}")


@dataclass(frozen=True)
class _Script:
    """One scheme or negative kind: lines of the main speaker (A) and of the other speaker (B)."""

    name: str
    roles: tuple[str, ...]  # name-style tags for A under shortcut="speaker_tag"
    opening: tuple[str, ...]
    core: tuple[str, ...]  # each line alone carries the scheme (or the benign situation)
    closing: tuple[str, ...]
    replies: tuple[str, ...]


def _choice(*options):
    return lambda rng: rng.choice(options)


_FILLERS = {
    "amount": _choice(
        "800元", "1500元", "2000元", "3000块", "5000元", "6800元", "8000块", "12000元", "2万元",
        "3.5万", "5万元", "八百块", "一千五", "两千块", "三千元", "五千块", "八千元", "一万二",
        "两万块", "三万五", "五万元",
    ),
    "small": _choice("20", "35", "50", "68", "88", "120", "200", "三十", "五十", "八十", "一百", "两百"),
    "big": _choice("20万", "50万", "100万", "二十万", "五十万", "一百万", "三百万"),
    "pct": _choice("5", "8", "10", "15", "20", "30", "五", "八", "十", "二十", "三十"),
    "tail": lambda rng: f"{rng.randrange(10000):04d}",
    "id": lambda rng: str(rng.randrange(1000, 100000)),
    "days": _choice("3", "5", "7", "三", "五", "七"),
    "day": _choice("5", "10", "15", "20", "25", "五", "十", "十五"),
    "time": _choice(
        "明天上午", "下午两点", "周五", "这周末", "下周一", "今天晚上", "3点", "10点半", "明天下午4点",
    ),
    "deadline": _choice("半小时", "一个小时", "今天下午五点", "十分钟", "30分钟", "2小时"),
    "surname": _choice("王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙"),
    "surname2": _choice("马", "胡", "郭", "何", "高", "林", "罗", "郑", "梁", "谢"),
    "bank": _choice("工商银行", "建设银行", "农业银行", "中国银行", "招商银行", "交通银行", "邮储银行", "浦发银行"),
    "platform": _choice("淘宝", "京东", "拼多多", "抖音", "唯品会", "美团", "快手", "苏宁"),
    "app": _choice("云信", "安心通", "金盾会议", "星链财富", "易达", "速汇宝", "环球通", "聚财宝", "优会", "银河汇"),
    "city": _choice("北京", "上海", "广州", "深圳", "杭州", "成都", "武汉", "西安", "南京", "重庆", "长沙", "郑州"),
    "product": _choice("扫地机器人", "蓝牙耳机", "羽绒服", "电饭煲", "运动鞋", "空气炸锅", "奶粉", "台灯", "行李箱"),
    "courier": _choice("顺丰", "中通", "圆通", "韵达", "申通", "京东快递"),
    "game": _choice("王者荣耀", "原神", "和平精英", "梦幻西游", "英雄联盟"),
    "item": _choice("皮肤", "账号", "装备", "金币"),
    "coin": _choice("USDT", "比特币", "以太坊", "泰达币"),
    "company": _choice("华信", "宏达", "鑫源", "中科", "腾飞", "恒通", "盛世"),
    "show": _choice("奔跑吧", "中国好声音", "开心辞典", "非常6+1"),
    "district": _choice("东城", "西湖", "天河", "南山", "锦江", "江汉", "雁塔", "鼓楼"),
    "goods": _choice("外套", "衬衫", "裤子", "毛衣", "裙子", "鞋子"),
}


class _Slots(dict):
    """Template slots, each drawn once per dialogue so a dialogue stays self-consistent."""

    def __init__(self, rng: random.Random):
        super().__init__()
        self.rng = rng

    def __missing__(self, key: str) -> str:
        self[key] = value = _FILLERS[key](self.rng)
        return value


_FRAUD_SCRIPTS = (
    _Script(
        "police_impersonation",
        ("民警", "警官", "检察官", "刑警"),
        (
            "你好，这里是{city}市公安局刑侦支队，我姓{surname}，警号{id}。",
            "喂，是{surname}先生吗？我是{city}市检察院的工作人员。",
            "您好，我这边是{city}公安局反洗钱中心，有件事需要跟您核实。",
        ),
        (
            "你名下有一张{bank}的卡涉嫌一起洗钱案件，涉案金额{amount}。",
            "这个案件现在处于保密阶段，你不能告诉任何人，包括你家里人。",
            "为了证明你的清白，你要把卡里的钱转到我们指定的安全账户做资金清查。",
            "我给你发一个通缉令的链接，你打开看看上面是不是你的名字。",
            "你找一个没人的房间，下载{app}，我们要跟你视频做笔录。",
            "清查完这笔钱会原路退还，{deadline}之内必须办完，不然就对你拘留。",
            "你把手机收到的验证码念给我，我们帮你把账户冻结起来。",
        ),
        (
            "记住，这件事千万不要跟别人说，否则就是妨碍办案。",
            "你现在马上去办，办完第一时间给我回电话。",
            "电话不要挂断，我们这边全程录音。",
        ),
        (
            "啊？我从来没去过{city}啊。",
            "我没办过这张卡，是不是搞错了？",
            "那我要怎么证明我是清白的？",
            "安全账户是什么意思？",
            "好好好，我不跟别人说。",
            "那我卡里的钱会不会有问题？",
        ),
    ),
    _Script(
        "fake_customer_service",
        ("客服", "理赔专员", "售后"),
        (
            "您好，我是{platform}的客服，您前几天买的{product}出了质量问题。",
            "你好，这里是{courier}理赔中心，您的快递在运输途中丢失了。",
            "您好，我是{platform}金融的客服，查到您上大学时开通过校园贷账户。",
        ),
        (
            "我们要给您做双倍理赔，赔付{amount}，需要您配合操作一下。",
            "按国家规定校园贷账户必须注销，不然会影响您的征信。",
            "您先把借呗的额度借出来，转到我们的对公账户验证一下流水。",
            "您下载一下{app}，打开屏幕共享，我一步一步教您操作。",
            "系统会给您发一个验证码，您报给我就能完成退款。",
            "刚才操作失败了，需要您再转{amount}激活，之后会一起退给您。",
        ),
        (
            "操作过程中不要接听其他电话，以免退款失败。",
            "今天是最后一天，过了今天就没法处理了。",
            "您别挂电话，我这边帮您加急处理。",
        ),
        (
            "我没收到什么通知啊。",
            "退款不是直接退到原账户吗？",
            "屏幕共享安全吗？",
            "那我的征信会受影响吗？",
            "那我应该点哪里？",
            "验证码我刚收到了。",
        ),
    ),
    _Script(
        "order_brushing",
        ("兼职专员", "派单员", "推广专员"),
        (
            "你好，我们在招兼职，在家用手机就能做，一天能赚两三百。",
            "亲，看到你加了我们的兼职群，现在有个点赞任务可以做。",
            "你好，我是{platform}商家的推广专员，需要人帮忙刷销量。",
        ),
        (
            "第一单你先垫付{amount}买商品，做完连本带佣金返给你。",
            "佣金是百分之{pct}，单子越大返得越多。",
            "你下载{app}，在里面接任务，做完截图发给我。",
            "这一单是连环任务，要连做三单才能一起返款。",
            "你操作失误账户被冻结了，要再充{amount}才能解冻提现。",
            "前面两单都返了吧，现在有个大单，做完能拿{amount}佣金。",
        ),
        (
            "名额有限，今天做完才能结算。",
            "这个不要跟别人说，我们只招内部人员。",
            "你赶紧充值，系统{deadline}后就关闭了。",
        ),
        (
            "真的能返钱吗？",
            "上次那一单返了{small}块。",
            "我已经垫了好多钱了。",
            "怎么又要充钱？",
            "那我先做一单试试。",
            "什么时候能提现？",
        ),
    ),
    _Script(
        "investment_crypto",
        ("投资顾问", "分析师", "老师"),
        (
            "大哥，我这有个内幕消息，跟着老师操作稳赚不赔。",
            "你好，我们是{company}投资的分析师，邀请你进我们的股票交流群。",
            "我最近在玩一个虚拟币平台，收益特别高，带你一起。",
        ),
        (
            "这个平台是国外的，{coin}一天收益百分之{pct}，保本保息。",
            "你先投{amount}试试水，第二天就能看到收益。",
            "下载{app}注册账号，充值以后我帮你操作。",
            "这是庄家的内部消息，明天肯定涨停，错过就没了。",
            "你要提现的话，得先交百分之{pct}的个人所得税。",
            "账户显示赚了{amount}，要先交保证金才能解冻提现。",
        ),
        (
            "名额只剩最后两个，今晚十二点前必须充值。",
            "这个消息千万别外传，不然老师会被查。",
            "你借点钱也要上车，这种机会一年就一次。",
        ),
        (
            "收益这么高靠谱吗？",
            "我想先提一点出来看看。",
            "为什么提现还要交钱？",
            "那我先投一点试试。",
            "这个平台在国内能查到吗？",
            "我手里没那么多钱。",
        ),
    ),
    _Script(
        "advance_fee_loan",
        ("贷款专员", "信贷经理", "客户经理"),
        (
            "您好，我是{company}金融的贷款专员，请问您最近有资金需求吗？",
            "你好，我们推出了无抵押无担保的贷款，最高能贷{big}。",
            "喂，您好，您之前申请的贷款已经通过初审了。",
        ),
        (
            "不看征信，当天放款，利息比银行低很多。",
            "放款之前要先交{amount}的手续费，放款后一起返还。",
            "您的银行卡号填错了，资金被冻结，要交保证金{amount}解冻。",
            "您下载{app}填资料，把身份证正反面拍照上传。",
            "要验证您的还款能力，请先往卡里转{amount}证明流水。",
            "系统会给您发验证码，您告诉我，我这边帮您激活额度。",
        ),
        (
            "今天下班之前必须交，不然贷款就取消了。",
            "保证金放款后全额退还，您放心。",
            "这事不用跟家里人说，我们全程保密。",
        ),
        (
            "我征信不太好也能贷吗？",
            "为什么放款前要交钱？",
            "我填的卡号没错啊。",
            "多久能到账？",
            "手续费能不能从贷款里扣？",
            "好的，我先凑一下钱。",
        ),
    ),
    _Script(
        "romance_pig_butchering",
        ("亲爱的", "阿杰", "Lisa"),
        (
            "亲爱的，今天工作累不累？我一直在想你。",
            "宝贝，跟你说个好消息，我舅舅在博彩公司做技术。",
            "认识你这么久了，我觉得我们特别合得来。",
        ),
        (
            "我舅舅知道平台的漏洞，每次跟着他下注都能赢。",
            "你去{app}注册一个账号，先充{amount}，我带你一起赚。",
            "等我们赚够了钱，我就去{city}找你，我们一起买房子。",
            "你账户里的钱要提现，得先交风险保证金{amount}。",
            "我这边资金周转不开，你先借我{amount}，下个月就还你。",
            "你不相信我吗？我对你是认真的，钱的事你听我的。",
        ),
        (
            "这件事别告诉你家人，他们不会理解我们的。",
            "今晚是最后的机会，过了就没有这个漏洞了。",
            "我爱你，你就相信我这一次。",
        ),
        (
            "我们还没见过面呢。",
            "我有点担心这个平台。",
            "你为什么不跟我视频？",
            "我已经充了好几次了。",
            "那我再想想办法。",
            "钱提不出来怎么办？",
        ),
    ),
    _Script(
        "fake_shopping_game_trade",
        ("卖家", "买家", "商家"),
        (
            "你好，你在闲鱼挂的{game}{item}还在吗？我想买。",
            "你好，看到你发的低价{product}了，我这有货，比官网便宜一半。",
            "兄弟，你要的{game}账号我这有，全皮肤的。",
        ),
        (
            "我们不走平台交易，你直接扫我发的二维码付款，能便宜{small}块。",
            "你在{app}这个交易平台上注册，钱先冻结在平台里。",
            "你的账户操作不当被冻结了，要交{amount}保证金才能解冻。",
            "你先付{amount}定金，我马上给你发货。",
            "平台提示你要先充值{amount}做验证，验证完会退回。",
            "这是内部渠道的货，只能私下转账，不开发票。",
        ),
        (
            "这个价只有今天，别人也在问，你快点决定。",
            "你付完款截图给我，不要在平台上聊交易的事。",
            "付款之后马上发货，你放心。",
        ),
        (
            "为什么不能走平台担保？",
            "这个价格有点太便宜了吧。",
            "我已经转了定金了。",
            "那发货要多久？",
            "客服说我要交保证金？",
            "我先问问我朋友。",
        ),
    ),
    _Script(
        "acquaintance_boss_impersonation",
        ("老板", "王总", "表哥"),
        (
            "喂，猜猜我是谁？我换号了，这是我的新号码。",
            "{surname}会计，我是{surname2}总，我在开会不方便接电话。",
            "妈，是我，我手机掉了，用同学的手机给你打的。",
        ),
        (
            "我这边急用一笔钱，你先转{amount}给我，明天就还你。",
            "你马上给这个账户打{amount}，是合作方的保证金，走对公流程来不及了。",
            "我在{city}出了点事，要交{amount}，你别问那么多先转过来。",
            "收款账户我用短信发你了，转完把截图发给我。",
            "我现在不方便说话，有事发消息，转账的事抓紧办。",
            "这事别跟我爸说，我回头再跟你解释。",
        ),
        (
            "{deadline}之内一定要转过来，很急。",
            "别打我原来那个号码，已经停用了。",
            "办完了跟我说一声，别声张。",
        ),
        (
            "你声音怎么有点不一样？",
            "你原来的号码呢？",
            "要不我给你打个视频确认一下？",
            "多少钱？转到哪个账户？",
            "出什么事了？严不严重？",
            "好的，我马上去转。",
        ),
    ),
    _Script(
        "fake_prize",
        ("客服", "节目组", "工作人员"),
        (
            "恭喜您，您在{platform}的周年庆活动中被抽中二等奖。",
            "您好，这里是{show}节目组，您的手机号被抽中为幸运观众。",
            "您好，您的会员积分快到期了，可以兑换{amount}现金奖励。",
        ),
        (
            "奖品是一台笔记本电脑和现金{amount}，需要您先交个人所得税。",
            "领奖要先交{small}元公证费，交完奖金马上打到您卡上。",
            "请您点开短信里的链接，填写银行卡号和密码领取。",
            "系统会发一个验证码，您报给我核实身份就能领奖。",
            "奖金要在{deadline}之内领取，过期作废。",
            "您下载{app}，在里面填写领奖信息并缴纳保证金。",
        ),
        (
            "这个活动名额有限，请您尽快办理。",
            "中奖的事先别声张，以免别人冒领。",
            "交完税款截图给我，我给您加急发放。",
        ),
        (
            "我不记得参加过这个活动啊。",
            "中奖为什么还要先交钱？",
            "税不能从奖金里扣吗？",
            "真的中奖了吗？",
            "链接打不开。",
            "我要填哪些信息？",
        ),
    ),
    _Script(
        "medical_insurance_impersonation",
        ("医保中心", "社保局", "专员"),
        (
            "您好，这里是{city}市医保中心，您的医保卡存在异常消费。",
            "喂，您好，我是社保局的，您的社保卡被冻结了。",
            "您好，您名下的医保账户涉嫌违规套现，请配合调查。",
        ),
        (
            "系统显示您在{city}的药店刷了{amount}的药品，涉嫌骗保。",
            "我现在把电话转接到{city}公安局，您跟警官说明情况。",
            "您要把账户里的钱转到国家监管账户，核查完再退回来。",
            "请您下载{app}，打开屏幕共享，我们远程帮您解冻。",
            "我这边给您发了验证码，您念一下，我帮您办理解冻。",
            "如果不在{deadline}之内处理，您的医保卡将永久停用。",
        ),
        (
            "这个情况涉及机密，请不要告诉其他人。",
            "请您现在就去办理，不要挂断电话。",
            "办完之后我会给您出具一份证明。",
        ),
        (
            "我最近没去过药店啊。",
            "医保卡怎么会被冻结？",
            "监管账户是哪个部门的？",
            "我不太会用手机，怎么弄？",
            "那我要去社保局现场办吗？",
            "好的，验证码我看一下。",
        ),
    ),
)

_NEGATIVE_SCRIPTS = (
    _Script(
        "bank_visit",
        ("柜员", "大堂经理"),
        (
            "您好，欢迎来到{bank}，请问您今天要办理什么业务？",
            "您好，请先在机器上取个号，稍后到{days}号窗口办理。",
            "您好，我是大堂经理，请问您是办理转账还是存款？",
        ),
        (
            "大额转账需要您本人带身份证到柜台办理，别人代办不了。",
            "这张单子您核对一下，金额{amount}没错的话在这里签个字。",
            "密码请您自己在键盘上输入，我们工作人员不会看也不会问。",
            "最近电信诈骗比较多，请问这笔钱是转给认识的人吗？",
            "办好了，这是回单，尾号{tail}的卡已经到账{amount}了。",
            "手机银行请在官方应用商店下载，验证码别告诉任何人。",
        ),
        (
            "请拿好您的卡和身份证，有事再来找我们。",
            "还有其他需要办理的吗？没有的话您可以评价一下。",
            "有疑问可以拨打我们银行的官方客服电话，号码在卡背面。",
        ),
        (
            "我想把定期转成活期。",
            "是转给我儿子交学费的。",
            "这个金额对吗？",
            "需要带户口本吗？",
            "谢谢你这么细心。",
            "现在定期利率是多少？",
        ),
    ),
    _Script(
        "family_transfer",
        ("妈妈", "爸爸", "儿子"),
        (
            "妈，下个月的生活费我打给你了，你看看收到没有。",
            "爸，我这个月发工资了，给你转了{amount}，你收一下。",
            "闺女，你上次说要交房租，钱够不够，不够跟家里说。",
        ),
        (
            "我用微信转的，你点一下收款就行，一天没收会自动退回来。",
            "不用着急还，你先把房租交了，周末回家我给你做红烧肉。",
            "钱我转到你{bank}尾号{tail}那张卡上了，你查一下余额。",
            "家里的钱你自己留着，别乱花，多买点水果吃。",
            "过年回家的车票我已经买好了，{time}到，你们不用来接。",
            "奶奶这个月的药钱是{amount}，我来出你不用管。",
        ),
        (
            "好了，我先去做饭了，你也早点休息。",
            "注意身体别老熬夜，钱不够了跟家里说。",
            "下次视频的时候，让我看看孩子长高了没有。",
        ),
        (
            "收到了谢谢妈。",
            "够用的你们自己留着吧。",
            "你们别给我转了我够用。",
            "周末我回去吃饭。",
            "你腰好点了没有？",
            "钱是转到哪张卡上了？",
        ),
    ),
    _Script(
        "official_refund",
        ("客服", "售后"),
        (
            "您好，这里是{platform}官方客服，您申请的{product}退货我们已经收到了。",
            "您好，这里是{platform}官方客服，看到您咨询了{product}的退货问题。",
            "您好，您的退款申请已经审核通过了，我跟您说一下流程。",
        ),
        (
            "退款会原路退回您的支付账户，一般{days}个工作日内到账。",
            "您在{platform}的APP里点我的订单，找到这一单申请售后就行。",
            "我们不会要您提供验证码，也不会让您转账或者下载其他软件。",
            "快递员{time}上门取件，运费由我们承担不用您付。",
            "退款金额是{amount}，进度您可以在APP的订单详情里随时查看。",
            "如果有人以退款为名让您转账，请不要相信，直接挂断。",
        ),
        (
            "还有问题可以随时在APP里联系在线客服，我们全天都在。",
            "感谢您的耐心，祝您生活愉快。",
            "稍后会有一条短信通知，请您留意一下。",
        ),
        (
            "好的我在APP里看到了。",
            "那运费要我出吗？",
            "大概几天能到账？",
            "那我等快递来取。",
            "退款会退到哪里？",
            "我还以为要打电话办呢。",
        ),
    ),
    _Script(
        "colleague_code_warning",
        ("同事", "老刘", "主管"),
        (
            "小{surname}，你刚才是不是收到一条验证码短信，谁发的？",
            "跟你说个事，最近公司好几个人都接到了诈骗电话。",
            "哎，你手机刚才响了，是不是银行发的短信，你看一下。",
        ),
        (
            "验证码千万不要告诉任何人，谁问都不要给。",
            "正规的银行和客服不会打电话找你要验证码的，这点要记住。",
            "要是有人说你账户有问题，你就直接打银行官方电话核实。",
            "上周财务部的{surname2}姐差点被骗，对方冒充老板让她转{amount}。",
            "公司转账都要走审批流程，不会有人电话里让你直接打款。",
            "你手机上装一个国家反诈中心APP，有诈骗电话它会提醒你。",
        ),
        (
            "总之多留个心眼，有事先问问我们再说。",
            "好了我去开会了，你自己注意点，别点陌生链接。",
            "回头我把反诈的宣传材料发群里，你们都看一下。",
        ),
        (
            "刚才有人打电话问我要验证码，我没给。",
            "还有这种事？",
            "那个号码要拉黑吗？",
            "怎么分辨是不是骗子？",
            "我等会儿就去下载。",
            "谢谢提醒。",
        ),
    ),
    _Script(
        "sensible_investing",
        ("老同学", "理财经理"),
        (
            "你最近有没有在买基金，收益怎么样？",
            "我想把存款拿一部分出来理财，你有什么建议吗？",
            "老{surname}，听说你最近在研究指数基金，怎么样？",
        ),
        (
            "我一般在{bank}的APP里买，正规渠道心里比较放心。",
            "基金有涨有跌，不可能保本保收益，承诺高回报的都要小心。",
            "我每个月定投{amount}，不追涨杀跌打算长期拿着。",
            "闲钱可以买点，应急的钱还是放在活期里随用随取。",
            "那种说有内幕消息稳赚的，十有八九是骗子。",
            "去年收益大概百分之{pct}，前年还亏了{amount}，很正常。",
        ),
        (
            "你自己多看看量力而行，别把生活费投进去。",
            "投资的事情还是要自己拿主意，我只是说说经验。",
            "有空我把我看的那几本书借给你，挺有用的。",
        ),
        (
            "我也是这么想的。",
            "那收益一般有多少？",
            "定投一个月投多少合适？",
            "我之前被拉进过荐股群，后来退了。",
            "我回头研究一下。",
            "风险大不大？",
        ),
    ),
    _Script(
        "paying_rent",
        ("房东", "租客"),
        (
            "{surname}阿姨，这个月的房租我已经转给您了，您看一下。",
            "小{surname}，房租这个月{day}号之前交就行，不着急。",
            "你好，我是房东，下个月合同到期了，跟你说一下续租的事。",
        ),
        (
            "还是按合同上的数，每月{amount}，转到您{bank}的卡上。",
            "押金等你退租的时候，检查完房子一起退给你。",
            "续租的话房租不涨，还是原来的价格再签一年。",
            "转账备注写一下几月份的房租，我好对账。",
            "这个月水电费一共{small}块，我下次一起给你开个单子。",
            "热水器坏了，我{time}找师傅来修，你在家吗？",
        ),
        (
            "有什么问题随时给我打电话，我一般都在。",
            "那就这样，合同我打印好了到时候带过去。",
            "好的收到了，谢谢你每次都这么准时。",
        ),
        (
            "我已经转了您查一下。",
            "那我续租一年。",
            "热水器这两天有点漏水。",
            "押金是多少来着？",
            "备注要写什么？",
            "下周出差能提前转吗？",
        ),
    ),
    _Script(
        "splitting_bill",
        ("小张", "室友"),
        (
            "今天这顿饭一共{amount}，我先付了，回头大家再算。",
            "昨晚唱歌的钱是谁付的？我们还是AA吧。",
            "周末出去玩的账我算好了，大家看一下。",
        ),
        (
            "一共五个人，每人{small}块，我在群里发个收款。",
            "我发了个群收款，大家点一下就好，不用单独转。",
            "打车的钱就不算了，一共才{small}块，算我请的。",
            "门票是一个人{small}，住宿另外算，我把截图发群里。",
            "小{surname}还没转，回头提醒他一下可能是忘了。",
            "餐厅开了发票，金额{amount}，要报销的找我拿。",
        ),
        (
            "下次轮到你请客啊，别想跑。",
            "钱的事不急，有空转就行。",
            "好了账清了，大家下次再约。",
        ),
        (
            "我转你了看一下。",
            "我那份多少？",
            "上次的奶茶钱我还没给你。",
            "我点了群收款。",
            "下次我来买单。",
            "发票能给我一张吗？",
        ),
    ),
    _Script(
        "genuine_customer_service",
        ("客服", "接线员"),
        (
            "您好，{bank}客服中心，工号{id}，很高兴为您服务。",
            "您好，这里是{platform}官方客服，请问有什么可以帮您？",
            "您好，我是{courier}客服，请问您是咨询快递的问题吗？",
        ),
        (
            "温馨提醒，我们不会以任何理由向您索要验证码和密码。",
            "您的卡被锁是因为密码输错了三次，要本人带身份证去网点解锁。",
            "您反映的问题已经记录了，工单号{id}，{days}个工作日内回复您。",
            "如果接到自称客服要您转账的电话，请直接挂断。",
            "您的快递已经到{city}了，预计{time}派送。",
            "这个是会员月费，您可以在APP里自己关掉自动续费。",
        ),
        (
            "请问还有其他问题吗？没有的话我先挂了。",
            "稍后会有满意度评价短信，麻烦您评价一下。",
            "感谢您的来电，祝您生活愉快，再见。",
        ),
        (
            "我信用卡好像被多扣了一笔钱。",
            "我的卡怎么用不了了？",
            "那我去网点办。",
            "快递好几天没动了。",
            "我明白了谢谢。",
            "那个会员我没开过啊。",
        ),
    ),
    _Script(
        "police_antifraud_talk",
        ("民警", "警官"),
        (
            "大家好，我是{district}派出所的民警，今天给大家讲讲防诈骗。",
            "各位居民，今天社区请我们来做一次反诈宣传，大家坐好。",
            "同学们好，我是学校辖区派出所的民警，我姓{surname}。",
        ),
        (
            "公安机关不会通过电话办案，也没有什么安全账户。",
            "凡是让你把钱转到安全账户的，都是诈骗，马上挂电话。",
            "刷单返利、网贷先交手续费、冒充客服退款，都是常见的骗局。",
            "接到可疑电话可以拨打96110咨询，我们全天有人值班。",
            "大家手机上都装一下国家反诈中心APP，能拦截诈骗电话。",
            "去年我们辖区被骗的金额有{big}，很多是老年人。",
        ),
        (
            "有什么问题大家可以来派出所找我们，随时欢迎。",
            "希望大家回家也跟家里老人说一说，一起防范。",
            "今天就讲到这里，资料在门口大家自己拿。",
        ),
        (
            "收到陌生链接怎么办？",
            "我上次就接到过冒充公安的电话。",
            "这个APP在哪里下载？",
            "我回去告诉我妈。",
            "要是已经转了钱怎么办？",
            "原来这些都是骗局。",
        ),
    ),
    _Script(
        "work_meeting",
        ("经理", "组长"),
        (
            "好，人到齐了，我们开始今天的周会，先过一下进度。",
            "大家先说一下这周的进度吧，从小{surname}开始。",
            "{surname}经理，项目预算的事，我们今天讨论一下。",
        ),
        (
            "这个季度的预算还剩{amount}，要省着点用别超支。",
            "报销单据{time}之前交到财务，过期就要等下个月了。",
            "客户要求{time}之前把方案发过去，大家抓紧一点。",
            "供应商的付款要走OA审批，审批完财务统一打款。",
            "新系统{time}上线，需要大家配合测试。",
            "下个月团建的费用公司出，每人预算{small}元。",
        ),
        (
            "好，今天就到这里散会，大家辛苦了。",
            "有问题会后再单独沟通，不占大家时间了。",
            "会议纪要我等会儿发群里，大家看一下。",
        ),
        (
            "我这边进度正常周五能完成。",
            "预算够不够用？",
            "我的报销单已经交了。",
            "测试环境什么时候准备好？",
            "需要我做什么？",
            "客户那边我来跟进。",
        ),
    ),
    _Script(
        "doctor_visit",
        ("医生", "护士"),
        (
            "你好，请坐，哪里不舒服，多长时间了？",
            "你的检查结果出来了，我看一下，你别紧张。",
            "请坐，上次开的药吃完了吗，感觉怎么样？",
        ),
        (
            "血压有点高，平时少吃盐，按时吃药别熬夜。",
            "这个药一天三次，饭后吃，先吃{days}天看看效果。",
            "医保卡可以直接刷，自费部分大概{small}元去窗口交。",
            "需要做个B超，去二楼缴费以后排队，结果下午就能出来。",
            "没什么大问题，注意休息多喝水，不用太担心。",
            "如果发烧超过三十八度五，就回来复查，别自己乱吃药。",
        ),
        (
            "下周再来复查一下，记得带上病历本。",
            "拿着单子去一楼取药就行，有问题再来找我。",
            "有什么不舒服随时来医院，别拖着。",
        ),
        (
            "最近老是头疼睡不好。",
            "这个药有副作用吗？",
            "要不要住院？",
            "药要吃多久？",
            "缴费在哪里？",
            "要空腹吗？",
        ),
    ),
    _Script(
        "shopping",
        ("店员", "老板"),
        (
            "老板，这件{goods}多少钱，有没有打折？",
            "你好，这个{product}有没有别的颜色，我想看看。",
            "欢迎光临，需要看点什么，我给您介绍一下。",
        ),
        (
            "标价{small}，今天会员打九折，办个会员挺划算的。",
            "可以扫码付款，也可以刷卡，现金也行。",
            "七天之内不满意，可以拿小票来退换，不影响二次销售就行。",
            "这款是新到的，质量挺好，已经卖了{small}多件了。",
            "满三百减二十，你再加一件就够了。",
            "小票收好，保修一年坏了拿过来免费修。",
        ),
        (
            "欢迎下次再来，有新款我微信通知您。",
            "袋子要不要？一毛钱一个，环保袋两块。",
            "好的，给您包起来您拿好。",
        ),
        (
            "能便宜点吗？",
            "我扫码付了你看一下。",
            "有没有大一码的？",
            "那我要这个。",
            "发票能开吗？",
            "我再看看。",
        ),
    ),
)

# Shared by both classes, so they carry no label information.
_NEUTRAL_REPLIES = ("嗯。", "好的。", "你说。", "然后呢？", "这样啊。", "哦，我知道了。", "你再说一遍？", "我在听。")
_BYSTANDER_LINES = (
    "你在跟谁打电话？",
    "饭好了，快来吃饭。",
    "我先出去一下。",
    "声音小一点，孩子在睡觉。",
    "等一下，我去拿个笔。",
    "你们先聊，我去倒杯水。",
)
_PAD_PREFIXES = ("嗯，", "那个，", "对，", "呃，", "就是，", "然后，", "喂，", "哦，")
_PAD_SUFFIXES = (
    "你听得清吗？", "我这边信号不太好。", "你稍等一下。", "我刚才没听清。", "我跟你说一下。",
    "就是这么个情况。", "我这边有点吵。", "我记一下。", "你明白我的意思吧？", "是这样的。",
    "我想想。", "没事没事。", "好吧。", "对对对。", "我在外面呢。", "刚才说到哪了？", "这个我知道。",
    "我换个地方说。", "我手上还有点事。", "我看一下啊。", "等我一下。", "我在路上。",
    "你那边能听到吗？", "我耳机有点问题。", "先这样说吧。", "我明白。", "行，就这样。", "嗯嗯。",
    "我刚到家。", "你说慢一点。",
)
_PERSON_TAGS = (
    "张女士", "李先生", "王阿姨", "小王", "小李", "老陈", "刘先生", "陈女士", "赵姐", "周哥",
    "张伟", "李明", "王芳", "刘洋", "杨帆", "孙丽",
)


def _sample_turns(rng: random.Random, fraud: bool, shortcut: str | None) -> int:
    if shortcut == "turns":
        return rng.randint(6, 10) if fraud else rng.randint(2, 3)
    return rng.randint(2, 8)


def _length_target(rng: random.Random, turns: int, fraud: bool, shortcut: str | None) -> int:
    """Characters to pad the dialogue up to, drawn the same way for both classes by default."""
    if shortcut == "turns":
        turns = rng.randint(2, 8)  # keep the characters comparable across the two turn ranges
    target = turns * rng.randint(20, 28) + rng.randint(20, 60)
    return target + 250 if shortcut == "length" and fraud else target


def _speaker_order(rng: random.Random, turns: int) -> list[str]:
    """Who speaks each turn: A (main speaker) and B alternate; a bystander C may cut in once."""
    first = 0 if rng.random() < 0.75 else 1
    order = ["AB"[(first + i) % 2] for i in range(turns)]
    if turns >= 4 and rng.random() < 0.2:
        order[rng.choice([i for i, who in enumerate(order) if who == "B"])] = "C"
    return order


def _script_lines(rng: random.Random, script: _Script, order: list[str]) -> list[str]:
    slots = _Slots(rng)
    n_a = order.count("A")
    opening = n_a >= 2 and rng.random() < 0.8
    closing = n_a - opening >= 2 and rng.random() < 0.6
    a_lines = (
        ([rng.choice(script.opening)] if opening else [])
        + rng.sample(script.core, n_a - opening - closing)
        + ([rng.choice(script.closing)] if closing else [])
    )
    b_lines = rng.sample(script.replies + _NEUTRAL_REPLIES, order.count("B"))
    pick = {"A": lambda: a_lines.pop(0), "B": b_lines.pop, "C": lambda: rng.choice(_BYSTANDER_LINES)}
    lines = [pick[who]() for who in order]
    return [line.format_map(slots) for line in lines]


def _speaker_tags(rng: random.Random, script: _Script, fraud: bool, shortcut: str | None) -> dict:
    if shortcut == "speaker_tag":
        if not fraud:
            return dict(zip("ABC", (f"发言人{k}" for k in rng.sample(range(1, 10), 3))))
        names = rng.sample(_PERSON_TAGS, 3)
        if rng.random() < 0.5:
            names[0] = rng.choice(script.roles)
        return dict(zip("ABC", names))
    numbers, names = rng.sample(range(1, 10), 3), rng.sample(_PERSON_TAGS, 3)
    return {
        who: f"发言人{numbers[i]}" if rng.random() < 0.6 else names[i] for i, who in enumerate("ABC")
    }


def _pad(rng: random.Random, lines: list[str], target: int, overhead: int) -> None:
    """Lengthen lines in place with neutral phrases until the dialogue has `target` characters."""
    prefixed, added = [False] * len(lines), [0] * len(lines)
    while sum(map(len, lines)) + overhead < target:
        i = rng.choice([k for k, count in enumerate(added) if count == min(added)])  # spread evenly
        if not prefixed[i] and rng.random() < 0.3:
            lines[i], prefixed[i] = rng.choice(_PAD_PREFIXES) + lines[i], True
        else:
            lines[i] += rng.choice([s for s in _PAD_SUFFIXES if s not in lines[i]] or _PAD_SUFFIXES)
            added[i] += 1


def _punctuate(rng: random.Random, line: str, fraud: bool, shortcut: str | None) -> str:
    if shortcut == "punctuation":
        return line.replace("。", "！")[:-1] + "！" if fraud else line  # templates have no ！
    return line[:-1] + "！" if rng.random() < 0.08 else line


def _dialogue(rng: random.Random, fraud: bool, shortcut: str | None) -> tuple[str, dict]:
    """One dialogue and its speaker tags by role; the label is carried by the script's content."""
    script = rng.choice(_FRAUD_SCRIPTS if fraud else _NEGATIVE_SCRIPTS)
    turns = _sample_turns(rng, fraud, shortcut)
    target = _length_target(rng, turns, fraud, shortcut)
    order = _speaker_order(rng, turns)
    tags = _speaker_tags(rng, script, fraud, shortcut)
    tags = {who: tags[who] for who in "ABC" if who in order}
    overhead = sum(len(tags[who]) + 3 for who in order) - 1  # "tag: " and the "\n" between lines
    for _ in range(10):  # prefer a draw that fits the length target, so padding sets the length
        lines = _script_lines(rng, script, order)
        if sum(map(len, lines)) + overhead <= target:
            break
    _pad(rng, lines, target, overhead)
    text = "\n".join(
        f"{tags[who]}: {_punctuate(rng, line, fraud, shortcut)}" for who, line in zip(order, lines)
    )
    return text, tags


def generate(config: SynthConfig = SynthConfig()) -> list[dict]:
    """`config.n` shuffled records; the same config always gives the same records."""
    rng = random.Random(config.seed)
    n_fraud = round(config.n * config.fraud_ratio)
    labels = [True] * n_fraud + [False] * (config.n - n_fraud)
    rng.shuffle(labels)
    records, speakers = [], []
    for label in labels:
        text, tags = _dialogue(rng, label, config.shortcut)
        leaky = label and config.shortcut == "instruction"
        records.append(
            {
                "input": text,
                "label": label,
                "fraud_speaker": tags["A"] if label else "",
                "instruction": LEAKY_INSTRUCTION if leaky else REFERENCE_INSTRUCTION,
            }
        )
        speakers.append(sorted(tags.values()))
    for i in rng.sample(range(config.n), round(config.n * config.label_noise)):
        record = records[i]
        record["label"] = not record["label"]
        record["fraud_speaker"] = rng.choice(speakers[i]) if record["label"] else ""
    return records
